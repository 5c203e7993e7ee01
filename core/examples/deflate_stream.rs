//! Writes what a websock server sends with permessage-deflate, for checking
//! against a real zlib: `deflate_stream BITS DIR` negotiates
//! `server_max_window_bits=BITS` with a client offer, sends a few messages,
//! and writes DIR/plain (the messages) and DIR/deflate (each message's
//! compressed payload with the 4-byte tail put back, RFC 7692 section
//! 7.2.2: exactly the raw DEFLATE stream the receiver inflates).
//!
//! The data repeats itself at distances from 600 bytes to 20 KiB, so a
//! compressor with a window over 512 bytes would refer back further than a
//! 9-bit inflater can follow.

use std::{env, fs, path::PathBuf, process::ExitCode};

use websock_core::deflate::{Options, TAIL};
use websock_core::frame::{decode_header, Decoded};
use websock_core::{Accept, Config, Connection, DataKind};

fn main() -> ExitCode {
    let args: Vec<String> = env::args().collect();
    let (Some(bits), Some(dir)) = (args.get(1).and_then(|b| b.parse::<u8>().ok()), args.get(2))
    else {
        eprintln!("usage: deflate_stream BITS DIR");
        return ExitCode::from(2);
    };
    let dir = PathBuf::from(dir);
    let mut config = Config::new();
    config.deflate = Some(Options::new());
    let mut server = Connection::server(config, 0);
    let request = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits={bits}\r\n\r\n"
    );
    let mut out = vec![0u8; 1024];
    match server.accept(request.as_bytes(), &[], &mut out) {
        Ok(Accept::Accepted { written, .. }) => {
            eprintln!("{}", String::from_utf8_lossy(&out[..written]).trim_end());
        }
        other => {
            eprintln!("handshake failed: {other:?}");
            return ExitCode::FAILURE;
        }
    }
    // Blocks of pseudo-random bytes, each repeated after a gap.
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut noise = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                b'a' + (seed % 26) as u8
            })
            .collect()
    };
    let mut plain = Vec::new();
    let mut stream = Vec::new();
    for gap in [600usize, 2000, 8000, 20000] {
        let block = noise(300);
        let mut message = block.clone();
        message.extend(noise(gap));
        message.extend(&block);
        let mut frame = vec![0u8; server.max_frame_len(message.len())];
        let n = server
            .send(DataKind::Binary, &message, true, &mut frame)
            .expect("send");
        let Ok(Decoded::Complete(header, head)) = decode_header(&frame[..n]) else {
            eprintln!("bad frame");
            return ExitCode::FAILURE;
        };
        assert_eq!(header.rsv, 0b100, "RSV1 marks a compressed message");
        stream.extend_from_slice(&frame[head..n]);
        stream.extend_from_slice(&TAIL);
        plain.extend(message);
    }
    if let Err(e) =
        fs::write(dir.join("plain"), &plain).and(fs::write(dir.join("deflate"), &stream))
    {
        eprintln!("cannot write to {}: {e}", dir.display());
        return ExitCode::FAILURE;
    }
    eprintln!("{} bytes -> {} bytes", plain.len(), stream.len());
    ExitCode::SUCCESS
}
