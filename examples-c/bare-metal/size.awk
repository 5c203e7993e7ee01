# Sums, from a GNU ld map file, the bytes each input archive contributed to
# the linked program: code and constants (.text, .rodata) and memory
# (.data, .bss). Usage: awk -f size.awk build/demo.map
function hex(s,    i, n, c) {
    n = 0
    s = tolower(substr(s, 3))
    for (i = 1; i <= length(s); i++) {
        c = index("0123456789abcdef", substr(s, i, 1)) - 1
        n = n * 16 + c
    }
    return n
}
function add(name, size, file,    who) {
    who = file ~ /libwebsock\.a/ ? "libwebsock.a" : (file ~ /libgcc\.a/ ? "libgcc.a" : "the C code")
    if (name ~ /^\.(text|rodata)/) code[who] += hex(size)
    else if (name ~ /^\.(data|bss)/) mem[who] += hex(size)
}
/^Linker script and memory map/ { on = 1; next }
!on { next }
/^ \.[^ ]+$/ { pending = $1; next }
pending != "" && $1 ~ /^0x/ && NF >= 3 { add(pending, $2, $3); pending = ""; next }
/^ \./ && $2 ~ /^0x/ && NF >= 4 { add($1, $3, $4) }
{ pending = "" }
END {
    for (w in code) printf "%-13s %7d bytes of code and constants, %6d of data and bss\n", w ":", code[w], mem[w]
}
