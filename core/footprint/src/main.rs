//! The footprint probe on a Cortex-M4: runs the session's three phases,
//! measures each one's stack peak by painting the free stack before it and
//! finding the lowest word it overwrote after it, and prints the figures
//! through semihosting (no `core::fmt`, so the binary holds the session and
//! little else). QEMU exits 0 only when every phase matched its transcript.
//!
//! On wasm32 the same binary is the library's `session` and `state_size`
//! exports and nothing else. A binary, not a `cdylib`: a `cdylib` keeps the
//! panic handler's symbol out of LTO's internalizing, so every bounds check
//! that cannot fail still builds its panic message and location for a
//! handler that ignores them, and links `core::fmt`'s integer formatting;
//! `wasm-opt` removes that code but not the data it left behind (19,838
//! bytes as a `cdylib`, 14,846 as this binary, the same session). Linked
//! as an executable, LTO sees the whole program, as on the Cortex-M.
#![no_std]
#![no_main]

#[cfg(target_arch = "arm")]
mod arm {
    use core::arch::asm;
    use cortex_m_rt::entry;
    use websock_footprint::{accept, close, messages, Engine, Probe};

    /// How much free stack is painted below a phase's caller.
    const PAINT: u32 = 16 * 1024;
    const PATTERN: u32 = 0x5a3c_a5c3;

    /// Runs a phase on freshly painted stack; returns its result and the
    /// bytes of stack it used below this frame (return address included).
    #[inline(never)]
    fn measure(phase: fn(&mut Probe) -> bool, p: &mut Probe) -> (bool, u32) {
        let sp: u32;
        // SAFETY: reads the stack pointer.
        unsafe { asm!("mov {}, sp", out(reg) sp, options(nomem, nostack)) };
        let bottom = sp - PAINT;
        // SAFETY: writes only the free stack below this frame (no
        // interrupts run here), with registers only.
        unsafe {
            asm!(
                "2:",
                "str {pat}, [{p}], #4",
                "cmp {p}, {end}",
                "blo 2b",
                p = inout(reg) bottom => _,
                end = in(reg) sp,
                pat = in(reg) PATTERN,
                options(nostack),
            )
        };
        let ok = phase(p);
        let mut low = bottom;
        // SAFETY: the painted words are in RAM, aligned.
        while low < sp && unsafe { core::ptr::read_volatile(low as *const u32) } == PATTERN {
            low += 4;
        }
        (ok && low > bottom, sp - low)
    }

    /// Semihosting call (ARM's `bkpt 0xab` convention).
    fn semihost(op: u32, arg: u32) {
        // SAFETY: QEMU handles the breakpoint; r0 and r1 are the call.
        unsafe { asm!("bkpt 0xab", inout("r0") op => _, in("r1") arg, options(nostack)) };
    }

    /// A line for SYS_WRITE0, built without `core::fmt`.
    struct Line {
        buf: [u8; 64],
        len: usize,
    }

    impl Line {
        fn new(label: &[u8]) -> Self {
            let mut l = Line {
                buf: [0; 64],
                len: 0,
            };
            l.put(label);
            l
        }
        fn put(&mut self, bytes: &[u8]) {
            self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
            self.len += bytes.len();
        }
        fn num(mut self, mut n: u32) -> Self {
            let mut digits = [0u8; 10];
            let mut i = digits.len();
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            self.put(&digits[i..]);
            self
        }
        fn print(mut self) {
            self.put(b"\n\0");
            semihost(0x04, self.buf.as_ptr() as u32);
        }
    }

    fn exit(ok: bool) -> ! {
        // ADP_Stopped_ApplicationExit, else ADP_Stopped_RunTimeErrorUnknown.
        semihost(0x18, if ok { 0x20026 } else { 0x20024 });
        // Not reached under QEMU; elsewhere, wait for the debugger.
        loop {
            // SAFETY: waits for an interrupt.
            unsafe { asm!("wfi", options(nomem, nostack)) };
        }
    }

    #[entry]
    fn main() -> ! {
        let mut p = Probe::new();
        let mut ok = true;
        for (name, phase) in [
            (&b"stack_accept "[..], accept as fn(&mut Probe) -> bool),
            (b"stack_messages ", messages),
            (b"stack_close ", close),
        ] {
            let (passed, used) = measure(phase, &mut p);
            Line::new(name).num(used).print();
            if !passed {
                let mut line = Line::new(b"FAILED ");
                line.put(name);
                line.print();
                ok = false;
            }
        }
        Line::new(b"state ")
            .num(core::mem::size_of::<Engine>() as u32)
            .print();
        Line::new(if ok {
            b"transcript ok"
        } else {
            b"transcript FAILED"
        })
        .print();
        exit(ok)
    }

    #[panic_handler]
    fn panic(_: &core::panic::PanicInfo) -> ! {
        Line::new(b"panic").print();
        exit(false)
    }
}

#[cfg(target_arch = "wasm32")]
use websock_footprint as _;
