package main

// The simulator never drops a connection because a handler panicked: Go's
// HTTP server would close it mid-call and a client reports the server as
// unreachable, where vCenter answers every request with a SOAP fault. A
// panic in a call is logged with its stack and answered with a SystemError
// fault naming the method.

import (
	"fmt"
	"html"
	"log"
	"net/http"
	"runtime/debug"
)

// trackedWriter remembers whether the response was started.
type trackedWriter struct {
	http.ResponseWriter
	started bool
}

func (w *trackedWriter) WriteHeader(code int) {
	w.started = true
	w.ResponseWriter.WriteHeader(code)
}

func (w *trackedWriter) Write(b []byte) (int, error) {
	w.started = true
	return w.ResponseWriter.Write(b)
}

// serveRecovered runs next and turns a panic into a SystemError fault.
func serveRecovered(w http.ResponseWriter, body []byte, next func(http.ResponseWriter)) {
	tw := &trackedWriter{ResponseWriter: w}
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
		writeVimFault(w, "SystemError", msg, "<reason>"+html.EscapeString(fmt.Sprint(p))+"</reason>")
	}()
	next(tw)
}
