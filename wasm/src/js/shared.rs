//! The methods both classes have, written once: wasm-bindgen classes cannot
//! inherit, so a macro stamps them onto each.

/// Adds the data-phase methods to a class with a `session: Session` field.
macro_rules! shared_methods {
    ($class:ident) => {
        #[wasm_bindgen]
        impl $class {
            /// Feeds bytes read from the transport and returns what they
            /// carried, in order: control frames and at most one whole
            /// message (compressed messages arrive inflated), after which
            /// it stops so that a reply to that message goes out before
            /// anything the engine says about later frames (a broken frame
            /// or a close right behind it would end the right to send). So
            /// call it again with no bytes until it returns an empty array;
            /// also once right after the handshake, for frames that came
            /// with it. Then write `takeOutput()` (it may hold a pong or a
            /// close reply) and check `shouldClose()`.
            ///
            /// A peer's protocol violation is a final `{type: "error"}`
            /// event, never thrown, so the events before it are not lost.
            /// Throws ERR_WEBSOCK_INVALID_STATE before the handshake
            /// completes.
            ///
            /// ```js
            /// for (let events = conn.receive(bytes); events.length; events = conn.receive()) {
            ///   for (const event of events) handle(event);
            /// }
            /// ```
            #[wasm_bindgen(unchecked_return_type = "WebSocketEvent[]")]
            pub fn receive(&mut self, bytes: Option<Vec<u8>>) -> Result<js_sys::Array, JsValue> {
                let events = js_sys::Array::new();
                let text_as_bytes = self.text_as_bytes;
                self.session
                    .receive(bytes.unwrap_or_default(), |r| {
                        events.push(&crate::js::events::event(r, text_as_bytes));
                    })
                    .map_err(crate::js::errors::thrown)?;
                Ok(events)
            }

            /// Sends a text message, or a fragment of one when `last` is
            /// false (default true); later calls continue the message.
            #[wasm_bindgen(js_name = sendText)]
            pub fn send_text(&mut self, text: &str, last: Option<bool>) -> Result<(), JsValue> {
                self.session
                    .send(
                        websock_core::DataKind::Text,
                        text.as_bytes(),
                        last.unwrap_or(true),
                    )
                    .map_err(crate::js::errors::thrown)
            }

            /// Sends a text message given as UTF-8 bytes (or a fragment of
            /// one when `last` is false), for text that is already encoded.
            /// The bytes are sent as they are: invalid UTF-8 makes the peer
            /// fail the connection (1007).
            #[wasm_bindgen(js_name = sendTextBytes)]
            pub fn send_text_bytes(
                &mut self,
                data: &[u8],
                last: Option<bool>,
            ) -> Result<(), JsValue> {
                self.session
                    .send(websock_core::DataKind::Text, data, last.unwrap_or(true))
                    .map_err(crate::js::errors::thrown)
            }

            /// Sends a binary message, or a fragment of one when `last` is
            /// false (default true); later calls continue the message.
            #[wasm_bindgen(js_name = sendBinary)]
            pub fn send_binary(&mut self, data: &[u8], last: Option<bool>) -> Result<(), JsValue> {
                self.session
                    .send(websock_core::DataKind::Binary, data, last.unwrap_or(true))
                    .map_err(crate::js::errors::thrown)
            }

            /// Sends a ping with up to 125 bytes of payload.
            pub fn ping(&mut self, data: Option<Vec<u8>>) -> Result<(), JsValue> {
                self.session
                    .ping(&data.unwrap_or_default())
                    .map_err(crate::js::errors::thrown)
            }

            /// Sends an unsolicited pong (a heartbeat) with up to 125 bytes.
            pub fn pong(&mut self, data: Option<Vec<u8>>) -> Result<(), JsValue> {
                self.session
                    .pong(&data.unwrap_or_default())
                    .map_err(crate::js::errors::thrown)
            }

            /// Starts the closing handshake with `code` (default 1000) and a
            /// reason of at most 123 UTF-8 bytes. Keep reading until the
            /// peer's `close` event and `shouldClose()`.
            pub fn close(
                &mut self,
                code: Option<f64>,
                reason: Option<String>,
            ) -> Result<(), JsValue> {
                let code = match code {
                    None => 1000,
                    Some(c) if c.fract() == 0.0 && (0.0..=65535.0).contains(&c) => c as u16,
                    Some(_) => {
                        return Err(crate::js::errors::error(
                            crate::error_code::ErrorCode::InvalidCloseCode,
                            "close code must be an integer from 0 to 65535",
                        ))
                    }
                };
                self.session
                    .close(code, reason.as_deref().unwrap_or(""))
                    .map_err(crate::js::errors::thrown)
            }

            /// Everything to write to the transport, in order; the
            /// connection forgets it. Empty when there is nothing.
            #[wasm_bindgen(js_name = takeOutput)]
            pub fn take_output(&mut self) -> js_sys::Uint8Array {
                let out = js_sys::Uint8Array::from(self.session.output());
                self.session.clear_output();
                out
            }

            /// Staged I/O (see `stagingArea`): `receive()` for the first
            /// `len` bytes of the staging area (0 to go on with bytes
            /// already buffered), with the same stopping rule. Returns the
            /// address of the events, packed (the layout is in the crate's
            /// `packed` module), each with the address of its payload: the
            /// events and the payloads are valid until the next call into
            /// the module (any connection). For an `error` event,
            /// `takeError()`.
            #[wasm_bindgen(js_name = receiveStaged)]
            pub fn receive_staged(&mut self, len: usize) -> Result<usize, JsValue> {
                crate::js::io::receive_staged(&mut self.session, len, &mut self.failure)
            }

            /// Staged I/O: sends the first `len` bytes of the staging area
            /// as a text (`kind` 1; they must be UTF-8) or binary (`kind`
            /// 2) message, or a fragment of one when `last` is false.
            #[wasm_bindgen(js_name = sendStaged)]
            pub fn send_staged(
                &mut self,
                kind: u32,
                len: usize,
                last: bool,
            ) -> Result<(), JsValue> {
                crate::js::io::send_staged(&mut self.session, kind, len, last)
            }

            /// Staged I/O: `takeOutput()`, `shouldClose()` and `deadline()`
            /// in one call. Returns the address of four f64s: the output's
            /// address and length (valid until the next `flushOutput` of
            /// any connection), 1 if the transport should close after it
            /// (else 0), and the deadline (-1 for none).
            #[wasm_bindgen(js_name = flushOutput)]
            pub fn flush_output(&mut self) -> usize {
                crate::js::io::flush_output(&mut self.session)
            }

            /// The error behind the last `error` event of `receiveStaged`
            /// (as `receive()` reports it), or `undefined`.
            #[wasm_bindgen(js_name = takeError, unchecked_return_type = "WebSockError | undefined")]
            pub fn take_error(&mut self) -> JsValue {
                self.failure
                    .take()
                    .map_or(JsValue::UNDEFINED, |e| crate::js::errors::engine_error(&e))
            }

            /// Bytes waiting in `takeOutput()`.
            #[wasm_bindgen(getter, js_name = bufferedAmount)]
            pub fn buffered_amount(&self) -> usize {
                self.session.output().len()
            }

            /// Whether permessage-deflate (RFC 7692) was agreed in the
            /// opening handshake: messages are then compressed both ways.
            #[wasm_bindgen(getter)]
            pub fn compression(&self) -> bool {
                self.session.compression_active()
            }

            /// The extensions agreed in the opening handshake, as the 101
            /// response's Sec-WebSocket-Extensions value (e.g.
            /// "permessage-deflate" or "permessage-deflate;
            /// server_max_window_bits=9"), or "" when none.
            #[wasm_bindgen(getter)]
            pub fn extensions(&self) -> String {
                self.session.extensions().unwrap_or_default().to_owned()
            }

            /// Whether to close the transport once `takeOutput()` is written:
            /// after the closing handshake (a server closes first; a client
            /// when the server has not within the close timeout), a
            /// protocol violation, a refused handshake, or a timeout.
            #[wasm_bindgen(js_name = shouldClose)]
            pub fn should_close(&self) -> bool {
                self.session.should_close()
            }

            /// Tells the connection the transport has closed (end of stream
            /// or error) and returns how the connection ended: `clean` when
            /// both close frames were exchanged, and the peer's close code
            /// (1006 when there was none).
            #[wasm_bindgen(js_name = transportClosed, unchecked_return_type = "Closure")]
            pub fn transport_closed(&mut self) -> JsValue {
                let c = self.session.transport_closed();
                crate::js::object::object(&[("clean", c.clean.into()), ("code", c.code.0.into())])
            }

            /// When `tick()` must next be called, on the clock of `now`, or
            /// `undefined` when no timer runs.
            pub fn deadline(&self) -> Option<f64> {
                self.session.deadline().map(|d| d as f64)
            }

            /// Advances the connection's clock (default: `performance.now()`).
            /// Past a deadline the connection gives up and `shouldClose()`
            /// becomes true.
            pub fn tick(&mut self, now: Option<f64>) -> Result<(), JsValue> {
                self.session.tick(crate::js::options::now_or_clock(now)?);
                Ok(())
            }

            /// The connection's state.
            #[wasm_bindgen(getter, unchecked_return_type = "ConnectionState")]
            pub fn state(&self) -> JsValue {
                crate::js::state_name(self.session.state()).into()
            }
        }
    };
}

pub(crate) use shared_methods;
