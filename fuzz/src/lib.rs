//! Shared harness of the fuzz targets: engines opened in pairs, frames
//! built from fuzzer-chosen descriptions, and the receive driver that feeds
//! bytes at fuzzer-chosen splits and checks the engine's contract on every
//! call (see `receive`).

pub mod pair;
pub mod receive;
pub mod wire;
