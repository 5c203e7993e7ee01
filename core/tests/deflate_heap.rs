//! Holds permessage-deflate's heap per server connection to the budget in
//! `core/deflate-heap.budget`, for every configuration of the report.
#![cfg(feature = "deflate")]

#[path = "support/heap.rs"]
mod heap;

use websock_core::deflate::{Memory, Options};

#[test]
fn heap_per_connection_is_within_budget() {
    let budget = include_str!("../deflate-heap.budget");
    let limit = |name: &str| -> usize {
        budget
            .lines()
            .filter_map(|l| l.split_once(' '))
            .find(|(n, _)| *n == name)
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no budget for {name}"))
    };
    let mut over = Vec::new();
    let all = [Memory::Large, Memory::Small].map(|memory| {
        heap::cases(Options {
            memory,
            ..Options::new()
        })
    });
    for case in all.iter().flatten() {
        let bytes = heap::server_heap(case);
        println!("{} {bytes}", case.name);
        if bytes > limit(&case.name) {
            over.push(format!("{} {bytes} > {}", case.name, limit(&case.name)));
        }
    }
    assert!(over.is_empty(), "over budget: {over:?}");
}
