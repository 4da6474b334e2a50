//! A server-sent-events stream held open for as long as its owner keeps it: the listener's
//! live list and the admin's run progress both follow one.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Event, EventSource, MessageEvent};

/// An open `EventSource` with its handlers; the handlers are removed and the stream closed
/// when it is dropped.
pub(crate) struct EventStream {
    source: EventSource,
    events: &'static [&'static str],
    on_event: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(Event)>,
}

impl EventStream {
    /// Opens `url`, calling `on_event` for every event named in `events` and `on_error` (with
    /// the stream, to read its state) when the connection fails; the browser reconnects by
    /// itself until the stream is closed.
    pub(crate) fn open(
        url: &str,
        events: &'static [&'static str],
        on_event: impl FnMut(MessageEvent) + 'static,
        mut on_error: impl FnMut(&EventSource) + 'static,
    ) -> Result<Self, String> {
        let source = EventSource::new(url).map_err(|_| format!("cannot open {url}"))?;
        let on_event = Closure::<dyn FnMut(MessageEvent)>::new(on_event);
        let failed = source.clone();
        let on_error = Closure::<dyn FnMut(Event)>::new(move |_: Event| on_error(&failed));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let stream = Self {
            source,
            events,
            on_event,
            _on_error: on_error,
        };
        for name in events {
            stream
                .source
                .add_event_listener_with_callback(name, stream.on_event.as_ref().unchecked_ref())
                .map_err(|_| format!("cannot listen to `{name}` events"))?;
        }
        Ok(stream)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.source.set_onerror(None);
        for name in self.events {
            let _ = self
                .source
                .remove_event_listener_with_callback(name, self.on_event.as_ref().unchecked_ref());
        }
        self.source.close();
    }
}
