package main

import (
	"encoding/json"
	"net/http"
	"strings"
)

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeStrict reads a control request's JSON body into v, refusing unknown fields (a
// mistyped key must not be ignored); on an error it answers 400 with the reason and false.
func decodeStrict(w http.ResponseWriter, r *http.Request, v interface{}) bool {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		msg := strings.ReplaceAll(err.Error(), `"`, `'`)
		writeJSON(w, http.StatusBadRequest, map[string]interface{}{"error": "bad JSON: " + msg})
		return false
	}
	return true
}

func init() {
	registerControl("health", func(lab *Lab) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true})
		}
	})
	registerControl("sessions/expire", func(lab *Lab) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost {
				writeJSON(w, http.StatusMethodNotAllowed, map[string]interface{}{"ok": false, "error": "POST only"})
				return
			}
			n := lab.sessions.expireAll()
			writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true, "expired": n})
		}
	})
}
