package main

// Fault injection: rules posted to /vnettool/faults make chosen SOAP calls
// fail the way a real vCenter or network would, so that the client's retry,
// re-read and reporting paths can be tested against real requests.
//
//   POST   /vnettool/faults  {"method": "ReconfigureDvs_Task" | "*", "object": "dvs-21",
//                             "action": "503" | "drop" | "lose" | "delay" | "expire" |
//                                       "fault" | "task_fail" | "malformed",
//                             "fault": "ConcurrentAccess", "delay_ms": 200,
//                             "count": 1, "probability": 0.5}
//   GET    /vnettool/faults  the rules with their hit counts
//   DELETE /vnettool/faults  remove all rules
//
// A rule with count N fires N times then disappears (0 = until cleared);
// probability (0..1, default 1) decides each matching call. "delay" holds the
// call then lets it run; "expire" invalidates all sessions, then the call runs
// (and gets NotAuthenticated); the others answer instead of vcsim. "task_fail"
// answers a *_Task method with a new Task (nothing applied) that is queued, runs for
// delay_ms (default 50) and ends in the error state with the named fault, like a
// vCenter task that fails on the host. "malformed" answers 200 with a truncated,
// ill-formed SOAP body (a broken proxy or server). "drop" closes the connection
// before the call runs; "lose" lets the call run (its change is made) and then
// closes the connection instead of answering: the response lost on its way back.

import (
	"encoding/json"
	"fmt"
	"html"
	"math/rand"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/types"
)

type faultRule struct {
	ID          int     `json:"id"`
	Method      string  `json:"method"`
	Object      string  `json:"object,omitempty"`
	Action      string  `json:"action"`
	Fault       string  `json:"fault,omitempty"`
	Message     string  `json:"message,omitempty"`
	DelayMs     int     `json:"delay_ms,omitempty"`
	Count       int     `json:"count"`
	Probability float64 `json:"probability,omitempty"`
	Hits        int     `json:"hits"`
}

type faultSet struct {
	mu    sync.Mutex
	next  int
	rules []*faultRule
	rnd   *rand.Rand
}

var faults = &faultSet{rnd: rand.New(rand.NewSource(1))}

// knownFaults are the vim faults a rule may raise, with the namespace pyVmomi
// expects them in (all are serialized in urn:vim25).
var knownFaults = map[string]bool{
	"ConcurrentAccess": true, "ResourceInUse": true, "HostNotConnected": true,
	"InvalidArgument": true, "TaskInProgress": true, "InvalidState": true,
	"NotFound": true, "SystemError": true, "RuntimeFault": true,
}

var faultActions = map[string]bool{
	"503": true, "drop": true, "lose": true, "delay": true, "expire": true, "fault": true,
	"task_fail": true, "malformed": true,
}

// vimFault builds the named fault for a failed task's info.error.
func vimFault(name, msg string) types.BaseMethodFault {
	base := types.MethodFault{FaultMessage: []types.LocalizableMessage{{Key: "vnettool.injected", Message: msg}}}
	switch name {
	case "ConcurrentAccess":
		return &types.ConcurrentAccess{VimFault: types.VimFault{MethodFault: base}}
	case "ResourceInUse":
		return &types.ResourceInUse{VimFault: types.VimFault{MethodFault: base}}
	case "HostNotConnected":
		return &types.HostNotConnected{HostCommunication: types.HostCommunication{RuntimeFault: types.RuntimeFault{MethodFault: base}}}
	case "InvalidArgument":
		return &types.InvalidArgument{RuntimeFault: types.RuntimeFault{MethodFault: base}}
	case "TaskInProgress":
		return &types.TaskInProgress{VimFault: types.VimFault{MethodFault: base}}
	case "InvalidState":
		return &types.InvalidState{VimFault: types.VimFault{MethodFault: base}}
	case "NotFound":
		return &types.NotFound{VimFault: types.VimFault{MethodFault: base}}
	case "SystemError":
		return &types.SystemError{RuntimeFault: types.RuntimeFault{MethodFault: base}}
	default:
		return &types.RuntimeFault{MethodFault: base}
	}
}

func (f *faultSet) add(r faultRule) (*faultRule, error) {
	if r.Method == "" {
		return nil, fmt.Errorf("method is required (a SOAP method name or \"*\")")
	}
	if !faultActions[r.Action] {
		return nil, fmt.Errorf("action must be one of 503, drop, lose, delay, expire, fault, task_fail, malformed")
	}
	if r.Action == "task_fail" && r.Method != "*" && !strings.HasSuffix(r.Method, "_Task") {
		return nil, fmt.Errorf("task_fail needs a *_Task method, not %q", r.Method)
	}
	if (r.Action == "fault" || r.Action == "task_fail") && !knownFaults[r.Fault] {
		return nil, fmt.Errorf("unknown fault %q", r.Fault)
	}
	if r.Action == "delay" && (r.DelayMs <= 0 || r.DelayMs > 600000) {
		return nil, fmt.Errorf("delay_ms must be 1..600000")
	}
	if r.Count < 0 || r.Probability < 0 || r.Probability > 1 {
		return nil, fmt.Errorf("count must be >= 0 and probability in 0..1")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.next++
	r.ID, r.Hits = f.next, 0
	f.rules = append(f.rules, &r)
	return &r, nil
}

// match returns a copy of the first rule that fires for this call.
func (f *faultSet) match(method, object string) *faultRule {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.rules {
		if r.Method != "*" && r.Method != method {
			continue
		}
		if r.Object != "" && r.Object != object {
			continue
		}
		if r.Probability > 0 && f.rnd.Float64() >= r.Probability {
			continue
		}
		r.Hits++
		hit := *r
		if r.Count > 0 && r.Hits >= r.Count {
			f.rules = append(f.rules[:i], f.rules[i+1:]...)
		}
		return &hit
	}
	return nil
}

// loseAnswer closes the client's connection without a byte of the answer.
func loseAnswer(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			_ = conn.Close()
			return
		}
	}
	http.Error(w, "answer lost", http.StatusBadGateway)
}

// intercept applies a matching rule; answered when it answered (vcsim must not);
// lose when the call must run and its answer be thrown away (see loseAnswer).
func (f *faultSet) intercept(lab *Lab, w http.ResponseWriter, body []byte) (answered, lose bool) {
	m := reMethod.FindSubmatch(body)
	if m == nil {
		return false, false
	}
	object, objType := "", ""
	if t := reThis.FindSubmatch(body); t != nil {
		object, objType = strings.TrimSpace(string(t[2])), strings.TrimPrefix(string(t[1]), "vcsimext:")
	}
	r := f.match(string(m[1]), object)
	if r == nil {
		return false, false
	}
	switch r.Action {
	case "delay":
		time.Sleep(time.Duration(r.DelayMs) * time.Millisecond)
		return false, false
	case "expire":
		lab.sessions.expireAll()
		return false, false
	case "503":
		w.Header().Set("Retry-After", "1")
		http.Error(w, "Service Unavailable (injected)", http.StatusServiceUnavailable)
		return true, false
	case "malformed":
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><%sResponse xmlns="urn:vim25"><returnval><objects><obj type="HostSystem">host-&amp;<propSet><name>name</nam`, string(m[1]))
		return true, false
	case "task_fail":
		if !strings.HasSuffix(string(m[1]), "_Task") || objType == "" {
			return false, false // not a task method: let it run
		}
		msg := r.Message
		if msg == "" {
			msg = fmt.Sprintf("%s (injected: task of %s failed)", r.Fault, string(m[1]))
		}
		delay := r.DelayMs
		if delay <= 0 {
			delay = 50
		}
		this := types.ManagedObjectReference{Type: objType, Value: object}
		fault := vimFault(r.Fault, msg)
		task := simulator.CreateTask(this, string(m[1]), func(*simulator.Task) (types.AnyType, types.BaseMethodFault) {
			time.Sleep(time.Duration(delay) * time.Millisecond)
			return nil, fault
		})
		go task.Run()
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><%sResponse xmlns="urn:vim25"><returnval type="Task">%s</returnval></%sResponse></soapenv:Body></soapenv:Envelope>`,
			string(m[1]), task.Self.Value, string(m[1]))
		return true, false
	case "lose":
		return false, true
	case "drop":
		loseAnswer(w)
		return true, false
	default: // fault
		msg := r.Message
		if msg == "" {
			msg = fmt.Sprintf("%s (injected on %s)", r.Fault, string(m[1]))
		}
		writeVimFault(w, r.Fault, msg, "")
		return true, false
	}
}

// writeVimFault answers a SOAP call with the vim fault `name` (fields: inner XML).
func writeVimFault(w http.ResponseWriter, name, msg, inner string) {
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusInternalServerError)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>%s</faultstring><detail><%sFault xmlns="urn:vim25" xsi:type="%s">%s</%sFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`,
		html.EscapeString(msg), name, name, inner, name)
}

func init() {
	registerControl("faults", func(lab *Lab) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodGet:
				faults.mu.Lock()
				out := make([]faultRule, 0, len(faults.rules))
				for _, x := range faults.rules {
					out = append(out, *x)
				}
				faults.mu.Unlock()
				writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true, "rules": out})
			case http.MethodPost:
				var rule faultRule
				if err := json.NewDecoder(r.Body).Decode(&rule); err != nil {
					writeJSON(w, http.StatusBadRequest, map[string]interface{}{"ok": false, "error": err.Error()})
					return
				}
				added, err := faults.add(rule)
				if err != nil {
					writeJSON(w, http.StatusBadRequest, map[string]interface{}{"ok": false, "error": err.Error()})
					return
				}
				writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true, "rule": added})
			case http.MethodDelete:
				faults.mu.Lock()
				n := len(faults.rules)
				faults.rules = nil
				faults.mu.Unlock()
				writeJSON(w, http.StatusOK, map[string]interface{}{"ok": true, "cleared": n})
			default:
				writeJSON(w, http.StatusMethodNotAllowed, map[string]interface{}{"ok": false, "error": "GET, POST or DELETE"})
			}
		}
	})
}
