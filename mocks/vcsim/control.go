package main

import (
	"encoding/json"
	"net/http"
)

func writeJSON(w http.ResponseWriter, code int, v interface{}) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
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
