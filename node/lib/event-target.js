'use strict';

// The browser-style part of the WebSocket API on top of EventEmitter, with the
// same semantics as ws: addEventListener / removeEventListener for 'open',
// 'message', 'close' and 'error', and the onopen / onmessage / onclose /
// onerror attributes (each attribute holds at most one listener).

const kForOnEventAttribute = Symbol('kIsForOnEventAttribute');
const kListener = Symbol('kListener');
const kTarget = Symbol('kTarget');
const kType = Symbol('kType');

class Event {
  constructor(type) {
    this[kTarget] = null;
    this[kType] = type;
  }

  get target() {
    return this[kTarget];
  }

  get type() {
    return this[kType];
  }
}

Object.defineProperty(Event.prototype, 'target', { enumerable: true });
Object.defineProperty(Event.prototype, 'type', { enumerable: true });

class CloseEvent extends Event {
  constructor(type, options = {}) {
    super(type);
    this._code = options.code === undefined ? 0 : options.code;
    this._reason = options.reason === undefined ? '' : options.reason;
    this._wasClean = options.wasClean === undefined ? false : options.wasClean;
  }

  get code() {
    return this._code;
  }

  get reason() {
    return this._reason;
  }

  get wasClean() {
    return this._wasClean;
  }
}

Object.defineProperty(CloseEvent.prototype, 'code', { enumerable: true });
Object.defineProperty(CloseEvent.prototype, 'reason', { enumerable: true });
Object.defineProperty(CloseEvent.prototype, 'wasClean', { enumerable: true });

class ErrorEvent extends Event {
  constructor(type, options = {}) {
    super(type);
    this._error = options.error === undefined ? null : options.error;
    this._message = options.message === undefined ? '' : options.message;
  }

  get error() {
    return this._error;
  }

  get message() {
    return this._message;
  }
}

Object.defineProperty(ErrorEvent.prototype, 'error', { enumerable: true });
Object.defineProperty(ErrorEvent.prototype, 'message', { enumerable: true });

class MessageEvent extends Event {
  constructor(type, options = {}) {
    super(type);
    this._data = options.data === undefined ? null : options.data;
  }

  get data() {
    return this._data;
  }
}

Object.defineProperty(MessageEvent.prototype, 'data', { enumerable: true });

function callListener(listener, thisArg, event) {
  if (typeof listener === 'object' && listener !== null && typeof listener.handleEvent === 'function') {
    listener.handleEvent.call(listener, event);
  } else {
    listener.call(thisArg, event);
  }
}

function addEventListener(type, handler, options = {}) {
  for (const listener of this.listeners(type)) {
    if (!options[kForOnEventAttribute] && listener[kListener] === handler && !listener[kForOnEventAttribute]) {
      return;
    }
  }

  let wrapper;
  if (type === 'message') {
    wrapper = function onMessage(data, isBinary) {
      const event = new MessageEvent('message', { data: isBinary ? data : data.toString() });
      event[kTarget] = this;
      callListener(handler, this, event);
    };
  } else if (type === 'close') {
    wrapper = function onClose(code, message) {
      const event = new CloseEvent('close', {
        code,
        reason: message.toString(),
        wasClean: this._closeFrameReceived && this._closeFrameSent,
      });
      event[kTarget] = this;
      callListener(handler, this, event);
    };
  } else if (type === 'error') {
    wrapper = function onError(error) {
      const event = new ErrorEvent('error', { error, message: error.message });
      event[kTarget] = this;
      callListener(handler, this, event);
    };
  } else if (type === 'open') {
    wrapper = function onOpen() {
      const event = new Event('open');
      event[kTarget] = this;
      callListener(handler, this, event);
    };
  } else {
    return;
  }

  wrapper[kForOnEventAttribute] = !!options[kForOnEventAttribute];
  wrapper[kListener] = handler;

  if (options.once) this.once(type, wrapper);
  else this.on(type, wrapper);
}

function removeEventListener(type, handler) {
  for (const listener of this.listeners(type)) {
    if (listener[kListener] === handler && !listener[kForOnEventAttribute]) {
      this.removeListener(type, listener);
      break;
    }
  }
}

// Define onopen, onmessage, onclose and onerror on a prototype.
function defineEventAttributes(proto) {
  for (const method of ['open', 'error', 'close', 'message']) {
    Object.defineProperty(proto, `on${method}`, {
      enumerable: true,
      configurable: true,
      get() {
        for (const listener of this.listeners(method)) {
          if (listener[kForOnEventAttribute]) return listener[kListener];
        }
        return null;
      },
      set(handler) {
        for (const listener of this.listeners(method)) {
          if (listener[kForOnEventAttribute]) {
            this.removeListener(method, listener);
            break;
          }
        }
        if (typeof handler !== 'function') return;
        this.addEventListener(method, handler, { [kForOnEventAttribute]: true });
      },
    });
  }
}

module.exports = {
  CloseEvent,
  ErrorEvent,
  Event,
  MessageEvent,
  addEventListener,
  removeEventListener,
  defineEventAttributes,
};
