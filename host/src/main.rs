//! `websock`: the std host of the websock engine. An event-driven echo
//! server, a terminal client, an Autobahn client driver and an echo load
//! generator, over ws:// and wss:// (rustls, behind [`transport`]).

mod autobahn;
mod bench;
mod cli;
mod client;
mod clock;
mod dial;
mod echo;
mod link;
mod load;
mod log;
mod outbuf;
mod page;
mod reactor;
mod serve;
mod subprotocol;
mod tls;
mod transport;
#[cfg(target_os = "linux")]
mod uring;
mod url;

use std::process::ExitCode;

use cli::Command;

fn main() -> ExitCode {
    let command = match cli::parse(std::env::args_os().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("websock: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Help(text) => {
            print!("{text}");
            Ok(())
        }
        Command::Version => {
            println!("websock {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Serve(options) => serve::run(&options),
        Command::Client(options) => return client::main(&options),
        Command::Autobahn {
            url,
            agent,
            config,
            tls,
            parallel,
        } => autobahn::run(&url, &agent, config, &tls, parallel),
        Command::Bench(options) => bench::run(&options),
        Command::Load(options) => load::run(&options),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("websock: {message}");
            ExitCode::FAILURE
        }
    }
}
