package main

// The simulator never drops a connection because a handler panicked: Go's
// HTTP server would close it mid-call and a client reports the server as
// unreachable, where vCenter answers every request with a SOAP fault. A
// panic in a call is logged with its stack and answered with a SystemError
// fault naming the method.

import (
	"bytes"
	"fmt"
	"html"
	"log"
	"net/http"
	"runtime/debug"
)

// trackedWriter remembers whether the response was started, its status and
// (when capture is set) its body.
type trackedWriter struct {
	http.ResponseWriter
	started bool
	status  int
	capture bool
	body    bytes.Buffer
}

func (w *trackedWriter) WriteHeader(code int) {
	if !w.started {
		w.status = code
	}
	w.started = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackedWriter) Write(b []byte) (int, error) {
	if !w.started {
		w.status = http.StatusOK
	}
	w.started = true
	if w.capture {
		w.body.Write(b)
	}
	return w.ResponseWriter.Write(b)
}

// serveRecovered runs next and turns a panic into a SystemError fault.
func serveRecovered(w http.ResponseWriter, body []byte, capture bool, next func(http.ResponseWriter)) (tw *trackedWriter) {
	tw = &trackedWriter{ResponseWriter: w, capture: capture}
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		method := "request"
		if m := reMethod.FindSubmatch(body); m != nil {
			method = string(m[1])
		}
		log.Printf("panic in %s: %v\n%s", method, p, debug.Stack())
		if tw.started {
			return // too late for a fault; the response is already under way
		}
		msg := fmt.Sprintf("A general system error occurred: internal error in %s: %v", method, p)
		writeVimFault(tw, "SystemError", msg, "<reason>"+html.EscapeString(fmt.Sprint(p))+"</reason>")
	}()
	next(tw)
	return tw
}
