//! The opening handshake (RFC 6455 section 4): the server reads the
//! upgrade request and answers it, the client sends its request and
//! checks the response.

use std::pin::Pin;

use tokio::io::{AsyncRead, AsyncWrite};
use websock_core::Accept;

use super::Inner;
use crate::error::Error;

impl<S: AsyncRead + AsyncWrite + Unpin> Inner<S> {
    /// Reads more of a handshake; an error at end of stream.
    async fn fill_handshake(&mut self) -> Result<(), Error> {
        match std::future::poll_fn(|cx| self.poll_fill(cx)).await {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::ConnectionReset),
            Err(e) => Err(Error::Io(e)),
        }
    }

    async fn write_all(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| self.poll_flush_out(cx)).await?;
        Ok(())
    }

    /// Server: reads the upgrade request and answers it (a bad request
    /// gets its HTTP error before the error is returned).
    pub(crate) async fn accept(&mut self) -> Result<(), Error> {
        loop {
            self.fill_handshake().await?;
            self.reserve(1024);
            let end = self.tx_end;
            let input = &self.rx[self.rx_start..];
            match self.conn.accept(input, &[], &mut self.tx[end..])? {
                Accept::Incomplete => continue,
                Accept::Accepted { request, written } => {
                    self.rx_start += request.len;
                    self.tx_end += written;
                    return self.write_all().await;
                }
                Accept::Rejected { error, written } => {
                    self.tx_end += written;
                    self.write_all().await?;
                    let _ =
                        std::future::poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await;
                    return Err(Error::Ws(error.into()));
                }
            }
        }
    }

    /// Client: sends the upgrade request and checks the response.
    pub(crate) async fn connect(&mut self, host: &str, path: &str) -> Result<(), Error> {
        self.reserve(4096);
        let end = self.tx_end;
        let n = self
            .conn
            .write_request(host, path, &[], &mut self.tx[end..])?;
        self.tx_end += n;
        self.write_all().await?;
        loop {
            self.fill_handshake().await?;
            let input = &self.rx[self.rx_start..];
            if let Some(response) = self.conn.read_response(input, &[])? {
                self.rx_start += response.len;
                return Ok(());
            }
        }
    }
}
