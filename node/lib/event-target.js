// The browser-style face of a WebSocket, as ws offers it beside the
// EventEmitter one: addEventListener/removeEventListener and the
// onopen/onmessage/onclose/onerror properties, with event objects.

const kListener = Symbol("websock.listener");

export class Event {
  constructor(type, target) {
    this.type = type;
    this.target = target;
  }
}

export class MessageEvent extends Event {
  constructor(data, target) {
    super("message", target);
    this.data = data;
  }
}

export class CloseEvent extends Event {
  constructor(code, reason, wasClean, target) {
    super("close", target);
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
  }
}

export class ErrorEvent extends Event {
  constructor(error, target) {
    super("error", target);
    this.error = error;
    this.message = error.message;
  }
}

/** The EventEmitter listener that turns emitted arguments into an event. */
function wrap(type, ws, handler) {
  switch (type) {
    case "message":
      // As in ws: text arrives as a string, binary by binaryType.
      return (data, isBinary) => call(handler, ws, new MessageEvent(isBinary ? data : data.toString(), ws));
    case "close":
      return (code, reason) =>
        call(handler, ws, new CloseEvent(code, reason.toString(), ws._closeFrameReceived && ws._closeFrameSent, ws));
    case "error":
      return (error) => call(handler, ws, new ErrorEvent(error, ws));
    default:
      return () => call(handler, ws, new Event(type, ws));
  }
}

function call(handler, target, event) {
  if (typeof handler === "object" && typeof handler.handleEvent === "function") handler.handleEvent(event);
  else handler.call(target, event);
}

const TYPES = ["open", "message", "close", "error"];

/** Adds the EventTarget methods and on* properties to `WebSocket.prototype`. */
export function addEventTarget(proto) {
  proto.addEventListener = function addEventListener(type, handler, options = {}) {
    if (!TYPES.includes(type) || handler == null) return;
    for (const l of this.listeners(type)) {
      if (!l._onProperty && l[kListener] === handler) return; // already added
    }
    const listener = wrap(type, this, handler);
    listener[kListener] = handler;
    if (options.once) this.once(type, listener);
    else this.on(type, listener);
  };
  proto.removeEventListener = function removeEventListener(type, handler) {
    for (const l of this.listeners(type)) {
      if (l[kListener] === handler && !l._onProperty) {
        this.removeListener(type, l);
        break;
      }
    }
  };
  for (const type of TYPES) {
    Object.defineProperty(proto, `on${type}`, {
      enumerable: true,
      get() {
        for (const l of this.listeners(type)) if (l._onProperty) return l[kListener];
        return null;
      },
      set(handler) {
        for (const l of this.listeners(type)) {
          if (l._onProperty) {
            this.removeListener(type, l);
            break;
          }
        }
        if (typeof handler !== "function") return;
        const listener = wrap(type, this, handler);
        listener[kListener] = handler;
        listener._onProperty = true;
        this.on(type, listener);
      },
    });
  }
}
