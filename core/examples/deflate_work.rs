//! One unit of permessage-deflate work, for counting instructions with
//! callgrind (deterministic where timing on a loaded machine is not):
//! `deflate_work OP CODEC DATA BITS [REPEAT [LEN]]` compresses or inflates
//! one message of LEN bytes (default 64 KiB) REPEAT times (default 1) at
//! level 6, each time with a fresh codec. OP: compress or inflate, or
//! compress-stream for one codec compressing the message REPEAT times with
//! context takeover (the criterion bench's case: history full and tables
//! made before each message); CODEC: large (zlib-rs) or small; DATA: text
//! or binary. The count of one unit is the difference of two REPEATs over
//! their difference (setup and the messages' making cancel).
//!
//! `deflate_work ab OP DATA BITS [ROUNDS [LEVEL]]` times Memory::Small and
//! Large in turn, ROUNDS times each (OP: compress, compress-stream,
//! inflate, or inflate-noalloc for the inflater without a Codec; compress
//! times a fresh codec's first message, its tables' making included), and
//! prints the ratio of their median times: on a loaded machine both see
//! the same load.
//!
//! Run: `valgrind --tool=callgrind target/release/examples/deflate_work inflate small binary 15`

use std::env;
use std::hint::black_box;
use std::process::ExitCode;

use websock_core::deflate::{Agreed, Codec, Memory, TAIL};

#[path = "../tests/support/messages.rs"]
mod messages;
use messages::{binary, text};

fn agreed(bits: u8, memory: Memory) -> Agreed {
    agreed_at(bits, memory, 6)
}

fn agreed_at(bits: u8, memory: Memory, level: u8) -> Agreed {
    Agreed {
        local_no_context_takeover: false,
        remote_no_context_takeover: false,
        local_window_bits: bits,
        remote_window_bits: bits,
        level,
        memory,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().collect();
    let arg = |i: usize| args.get(i).map(String::as_str).unwrap_or("");
    if arg(1) == "ab" {
        return ab(
            arg(2),
            arg(3),
            arg(4).parse().unwrap_or(15),
            arg(5).parse().unwrap_or(200),
            arg(6).parse().unwrap_or(6),
        );
    }
    let memory = match arg(2) {
        "large" => Memory::Large,
        "small" => Memory::Small,
        _ => return usage(),
    };
    // An optional count: absent gives the default, a typo the usage (not
    // a silent measurement of something else).
    let opt = |i: usize, default: usize| match arg(i) {
        "" => Some(default),
        a => a.parse::<usize>().ok(),
    };
    let (Some(repeat), Some(len)) = (opt(5, 1), opt(6, 65536)) else {
        return usage();
    };
    let data = match arg(3) {
        "text" => text(len),
        "binary" => binary(len),
        _ => return usage(),
    };
    let Ok(bits) = arg(4).parse::<u8>() else {
        return usage();
    };
    let mut out = vec![0u8; Codec::bound(data.len())];
    match arg(1) {
        "compress" => {
            let mut codec = Codec::new(agreed(bits, memory));
            for _ in 0..repeat {
                let mut fresh = Codec::new(agreed(bits, memory));
                black_box(fresh.compress(black_box(&data), true, &mut out).unwrap());
                codec = fresh;
            }
            drop(codec);
        }
        "compress-stream" => {
            // One codec, messages in turn (context takeover): the
            // criterion bench's case; a unit is the difference of REPEATs.
            let mut codec = Codec::new(agreed(bits, memory));
            for _ in 0..repeat {
                black_box(codec.compress(black_box(&data), true, &mut out).unwrap());
            }
        }
        "inflate" => {
            // The stream zlib-rs makes, as the benchmark inflates.
            let mut sender = Codec::new(agreed(bits, Memory::Large));
            let n = sender.compress(&data, true, &mut out).unwrap();
            let mut wire = out[..n].to_vec();
            wire.extend_from_slice(&TAIL);
            let mut plain = vec![0u8; data.len() + 64];
            for _ in 0..repeat {
                let mut receiver = Codec::new(agreed(bits, memory));
                let (used, wrote) = receiver.decompress(black_box(&wire), &mut plain).unwrap();
                assert_eq!((used, &plain[..wrote]), (wire.len(), &data[..]));
            }
        }
        _ => return usage(),
    }
    ExitCode::SUCCESS
}

/// Interleaved A/B: Small then Large, `rounds` times, each op timed; prints
/// the median time of Small over that of Large (a ratio: the machine may
/// be loaded, and both see the same load).
fn ab(op: &str, data: &str, bits: u8, rounds: usize, level: u8) -> ExitCode {
    use std::time::Instant;
    let data = match data {
        "text" => text(65536),
        "binary" => binary(65536),
        _ => return usage(),
    };
    let mut out = vec![0u8; Codec::bound(data.len())];
    let mut sender = Codec::new(agreed_at(bits, Memory::Large, level));
    let n = sender.compress(&data, true, &mut out).unwrap();
    let mut wire = out[..n].to_vec();
    wire.extend_from_slice(&TAIL);
    let mut plain = vec![0u8; data.len() + 64];
    let mut times = [Vec::new(), Vec::new()];
    let mut window = vec![0u8; 1 << bits];
    let mut sizes = [0usize; 2];
    // One codec of each kind for every round of "compress-stream": the
    // criterion bench's case, messages on a connection with context
    // takeover (history full, tables made); "compress" makes them afresh.
    let mut streams =
        [Memory::Small, Memory::Large].map(|memory| Codec::new(agreed_at(bits, memory, level)));
    for stream in &mut streams {
        stream.compress(&data, true, &mut out).unwrap();
    }
    for _ in 0..rounds {
        for (k, memory) in [Memory::Small, Memory::Large].into_iter().enumerate() {
            let mut codec = Codec::new(agreed_at(bits, memory, level));
            let start = Instant::now();
            match op {
                "inflate-noalloc" if k == 0 => {
                    let mut inflater = websock_core::deflate::inflate::Inflater::new();
                    black_box(
                        inflater
                            .inflate(&mut window, black_box(&wire), &mut plain)
                            .unwrap(),
                    );
                }
                "compress" => {
                    sizes[k] = black_box(codec.compress(black_box(&data), true, &mut out).unwrap())
                }
                "compress-stream" => {
                    sizes[k] = black_box(
                        streams[k]
                            .compress(black_box(&data), true, &mut out)
                            .unwrap(),
                    )
                }
                _ => {
                    black_box(codec.decompress(black_box(&wire), &mut plain).unwrap());
                }
            }
            times[k].push(start.elapsed().as_nanos());
        }
    }
    for t in &mut times {
        t.sort_unstable();
    }
    let (s, l) = (times[0][rounds / 2], times[1][rounds / 2]);
    println!(
        "{op} bits {bits} level {level}: small/large time {:.3} (median {s} / {l} ns){}",
        s as f64 / l as f64,
        if op.starts_with("compress") {
            format!(", sizes {} / {}", sizes[0], sizes[1])
        } else {
            String::new()
        }
    );
    ExitCode::SUCCESS
}

fn usage() -> ExitCode {
    eprintln!("usage: deflate_work compress|inflate large|small text|binary BITS [REPEAT [LEN]]");
    ExitCode::from(2)
}
