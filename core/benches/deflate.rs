//! permessage-deflate throughput: compress (send) and inflate (receive) of
//! text and binary messages of 1 KiB and 64 KiB at window bits 9 and 15;
//! zlib-rs (`compress/`, `inflate/`), `Memory::Small` (`compress-small/`,
//! `inflate-small/`) and the allocator-free inflater alone
//! (`inflate-noalloc/`). The machine may be loaded: compare neighbours
//! (ratios), measured in the same run.
//!
//! Run: `cargo bench -p websock-core --features deflate --bench deflate`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use websock_core::deflate::inflate::Inflater;
use websock_core::deflate::{Agreed, Codec, Memory, TAIL};

fn agreed(bits: u8) -> Agreed {
    Agreed {
        local_no_context_takeover: false,
        remote_no_context_takeover: false,
        local_window_bits: bits,
        remote_window_bits: bits,
        level: 6,
        memory: Default::default(),
    }
}

#[path = "../tests/support/messages.rs"]
mod messages;
use messages::{binary, text};

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("deflate");
    for (name, data) in [
        ("text-1KiB", text(1024)),
        ("text-64KiB", text(65536)),
        ("binary-1KiB", binary(1024)),
        ("binary-64KiB", binary(65536)),
    ] {
        for bits in [9u8, 15] {
            group.throughput(Throughput::Bytes(data.len() as u64));
            let mut out = vec![0u8; Codec::bound(data.len())];
            let mut codec = Codec::new(agreed(bits));
            group.bench_function(format!("compress/{name}/w{bits}"), |b| {
                b.iter(|| codec.compress(&data, true, &mut out).unwrap())
            });
            let mut small = Codec::new(Agreed {
                memory: Memory::Small,
                ..agreed(bits)
            });
            group.bench_function(format!("compress-small/{name}/w{bits}"), |b| {
                b.iter(|| small.compress(&data, true, &mut out).unwrap())
            });
            let mut sender = Codec::new(agreed(bits));
            let n = sender.compress(&data, true, &mut out).unwrap();
            let mut wire = out[..n].to_vec();
            wire.extend_from_slice(&TAIL);
            let mut plain = vec![0u8; data.len() + 64];
            group.bench_function(format!("inflate/{name}/w{bits}"), |b| {
                b.iter_batched_ref(
                    || Codec::new(agreed(bits)),
                    |receiver| {
                        let (used, wrote) = receiver.decompress(&wire, &mut plain).unwrap();
                        assert_eq!((used, wrote), (wire.len(), data.len()));
                    },
                    BatchSize::SmallInput,
                )
            });
            // Memory::Small's inflater, on the heap as a connection has it.
            group.bench_function(format!("inflate-small/{name}/w{bits}"), |b| {
                b.iter_batched_ref(
                    || {
                        Codec::new(Agreed {
                            memory: Memory::Small,
                            ..agreed(bits)
                        })
                    },
                    |receiver| {
                        let (used, wrote) = receiver.decompress(&wire, &mut plain).unwrap();
                        assert_eq!((used, wrote), (wire.len(), data.len()));
                    },
                    BatchSize::SmallInput,
                )
            });
            // The allocator-free inflater, into a 2^bits window.
            let mut window = vec![0u8; Inflater::window_len(bits)];
            group.bench_function(format!("inflate-noalloc/{name}/w{bits}"), |b| {
                b.iter(|| {
                    let mut inflater = Inflater::new();
                    let (used, wrote) = inflater.inflate(&mut window, &wire, &mut plain).unwrap();
                    assert_eq!((used, wrote), (wire.len(), data.len()));
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
