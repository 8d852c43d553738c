package main

// Extension mechanism of the lab simulator. Written once; features plug in
// from their own files through three registries filled in init():
//
//   registerOverride(moType, aliasType, factory, methods...)
//       SOAP calls of the listed methods on objects of moType are routed to an
//       alias object (type aliasType, same moref value) whose Go methods
//       implement them. Use for types vcsim type-asserts internally
//       (DistributedVirtualSwitch, DistributedVirtualPortgroup, HostSystem,
//       VirtualMachine, PropertyCollector), which therefore cannot be replaced
//       by a wrapper with simulator.Map.Put.
//   registerControl(pattern, handler)
//       HTTP endpoint below /vnettool/ on the simulator's own server.
//   registerSetup(order, name, fn)
//       step run on the freshly created model (lower order first).
//
// The router in front of vcsim's /sdk handler rewrites the `_this` type of a
// routed call, e.g. <_this type="DistributedVirtualSwitch">dvs-21</_this> to
// <_this type="vcsimext:DistributedVirtualSwitch">dvs-21</_this>; vcsim then
// dispatches by reflection to the alias. Alias methods work on the original
// object through withOrig, which takes the original's lock and sets the
// caller context to it (so vcsim's nested ctx.WithLock calls do not deadlock).

import (
	"bytes"
	"html"
	"io/ioutil"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/vim25/mo"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

const aliasPrefix = "vcsimext:"

type override struct {
	aliasType string
	factory   func(lab *Lab, orig types.ManagedObjectReference) mo.Reference
}

var (
	// method name -> original moref type -> override
	overrides = map[string]map[string]*override{}

	controls = map[string]func(lab *Lab) http.HandlerFunc{}

	setups []setupStep
)

type setupStep struct {
	order int
	name  string
	fn    func(lab *Lab) error
}

// registerOverride routes methods called on objects of type moType to an alias.
func registerOverride(moType string, factory func(lab *Lab, orig types.ManagedObjectReference) mo.Reference, methods ...string) {
	o := &override{aliasType: aliasPrefix + moType, factory: factory}
	for _, m := range methods {
		if overrides[m] == nil {
			overrides[m] = map[string]*override{}
		}
		overrides[m][moType] = o
	}
}

// registerControl adds a control endpoint; pattern is relative to /vnettool/
// (e.g. "health", "sessions/expire").
func registerControl(pattern string, h func(lab *Lab) http.HandlerFunc) {
	controls[pattern] = h
}

// registerSetup adds a step run after the model is created.
func registerSetup(order int, name string, fn func(lab *Lab) error) {
	setups = append(setups, setupStep{order, name, fn})
	sort.SliceStable(setups, func(i, j int) bool { return setups[i].order < setups[j].order })
}

// aliasBase is embedded by alias types: the alias moref and the original.
type aliasBase struct {
	Self types.ManagedObjectReference
	Orig types.ManagedObjectReference
	lab  *Lab
}

func (a *aliasBase) Reference() types.ManagedObjectReference { return a.Self }

func newAliasBase(lab *Lab, orig types.ManagedObjectReference) aliasBase {
	return aliasBase{
		Self: types.ManagedObjectReference{Type: aliasPrefix + orig.Type, Value: orig.Value},
		Orig: orig,
		lab:  lab,
	}
}

// origObject resolves the original object like vcsim's dispatcher does
// (session registry first, for per-session PropertyCollectors).
func (a *aliasBase) origObject(ctx *simulator.Context) mo.Reference {
	if ctx != nil && ctx.Session != nil {
		if obj := ctx.Session.Get(a.Orig); obj != nil {
			return obj
		}
	}
	return simulator.Map.Get(a.Orig)
}

// withOrig runs f holding the lock of the original object with the caller
// context set to it.
func withOrig(ctx *simulator.Context, orig mo.Reference, f func()) {
	ref := orig.Reference()
	var prev *types.ManagedObjectReference
	if ctx != nil {
		prev = ctx.Caller
		ctx.Caller = &ref
	}
	simulator.Map.WithLock(orig, f)
	if ctx != nil {
		ctx.Caller = prev
	}
}

// faultBody is a generic SOAP fault response.
type faultBody struct {
	Fault_ *soap.Fault `xml:"http://schemas.xmlsoap.org/soap/envelope/ Fault,omitempty"`
}

func (b *faultBody) Fault() *soap.Fault { return b.Fault_ }

func faultResponse(msg string, f types.BaseMethodFault) soap.HasFault {
	return &faultBody{Fault_: simulator.Fault(msg, f)}
}

var (
	reMethod = regexp.MustCompile(`<(?:[\w.-]+:)?Body(?:\s[^>]*)?>\s*<(?:[\w.-]+:)?([A-Za-z0-9_]+)`)
	reThis   = regexp.MustCompile(`<(?:[\w.-]+:)?_this(?:\s[^>]*?)?\stype="([^"]+)"[^>]*>([^<]*)<`)
)

// routeCall rewrites body when the call is overridden; returns the new body.
func (l *Lab) routeCall(body []byte) []byte {
	m := reMethod.FindSubmatch(body)
	if m == nil {
		return body
	}
	byType := overrides[string(m[1])]
	if byType == nil {
		return body
	}
	idx := reThis.FindSubmatchIndex(body)
	if idx == nil {
		return body
	}
	typ := string(body[idx[2]:idx[3]])
	o := byType[typ]
	if o == nil {
		return body
	}
	orig := types.ManagedObjectReference{Type: typ, Value: strings.TrimSpace(string(body[idx[4]:idx[5]]))}
	l.ensureAlias(o, orig)
	out := make([]byte, 0, len(body)+len(aliasPrefix))
	out = append(out, body[:idx[2]]...)
	out = append(out, o.aliasType...)
	out = append(out, body[idx[3]:]...)
	return out
}

func (l *Lab) ensureAlias(o *override, orig types.ManagedObjectReference) {
	ref := types.ManagedObjectReference{Type: o.aliasType, Value: orig.Value}
	l.aliasMu.Lock()
	defer l.aliasMu.Unlock()
	if simulator.Map.Get(ref) != nil {
		return
	}
	if simulator.Map.Get(orig) == nil && !strings.HasPrefix(orig.Value, "session[") && orig.Type != "PropertyCollector" {
		return // let vcsim answer ManagedObjectNotFound for the original ref
	}
	simulator.Map.Put(o.factory(l, orig))
}

// router sits in front of vcsim's HTTP handler.
type router struct {
	lab     *Lab
	next    http.Handler
	control *http.ServeMux
}

func newRouter(lab *Lab, next http.Handler) *router {
	r := &router{lab: lab, next: next, control: http.NewServeMux()}
	for pattern, h := range controls {
		r.control.HandleFunc("/vnettool/"+strings.TrimPrefix(pattern, "/"), h(lab))
	}
	return r
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/vnettool/") {
		rt.control.ServeHTTP(w, r)
		return
	}
	if strings.HasPrefix(r.URL.Path, "/nfc/") {
		serveNFC(w, r, rt.next) // ovf.go
		return
	}
	if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/sdk") && !strings.HasSuffix(r.URL.Path, ".xml") {
		body, err := ioutil.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		answered, lose := faults.intercept(rt.lab, w, body) // faults.go
		if answered {
			return
		}
		if lose { // the call runs, into a recorder; the client gets no answer
			defer loseAnswer(w)
			w = httptest.NewRecorder()
		}
		if rt.lab.sessions.filterRequest(r) && !sessionless(body) {
			notAuthenticated(w)
			return
		}
		body = markUnsetDescriptions(markExplicitZeros(rt.lab.routeCall(body))) // zeroints.go, unsetdesc.go
		r.Body = ioutil.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		user := rt.lab.sessions.userOf(r)
		tw := serveRecovered(w, body, wantsResponse(body), func(w http.ResponseWriter) { rt.next.ServeHTTP(zeroWriter{w}, r) }) // recover.go, zeroints.go
		rt.lab.sessions.noteResponse(w, body)
		afterCall(user, body, tw.status, tw.body.Bytes()) // events.go
		return
	}
	rt.next.ServeHTTP(w, r)
}

// sessionTracker records session cookies so that all current sessions can be
// expired from the control API; requests carrying an expired session cookie
// reach vcsim without it (NotAuthenticated, and a fresh Login works).
type sessionTracker struct {
	mu      sync.Mutex
	known   map[string]bool
	revoked map[string]bool
	users   map[string]string // session cookie -> user name given at Login (task initiators, events)
}

func newSessionTracker() *sessionTracker {
	return &sessionTracker{known: map[string]bool{}, revoked: map[string]bool{}, users: map[string]string{}}
}

var reUserName = regexp.MustCompile(`<(?:[\w.-]+:)?userName(?:\s[^>]*)?>([^<]*)<`)

// userOf is the user the request's session logged in as ("" when unknown).
func (s *sessionTracker) userOf(r *http.Request) string {
	c, err := r.Cookie(soap.SessionCookieName)
	if err != nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.users[c.Value]
}

// sessionless: methods vCenter answers without a session. Stock vcsim also lets
// RetrieveProperties(Ex) through and answers it with nothing, where vCenter says
// NotAuthenticated; a client would read an empty inventory instead of logging in again.
func sessionless(body []byte) bool {
	m := reMethod.FindSubmatch(body)
	if m == nil {
		return true
	}
	switch string(m[1]) {
	case "RetrieveServiceContent", "Login", "LoginByToken", "LoginExtensionByCertificate", "CloneSession":
		return true
	}
	return false
}

func notAuthenticated(w http.ResponseWriter) {
	writeVimFault(w, "NotAuthenticated", "The session is not authenticated.", "<privilegeId>System.View</privilegeId>")
}

// filterRequest strips a revoked session cookie; true when it did (the session expired).
func (s *sessionTracker) filterRequest(r *http.Request) bool {
	cookies := r.Cookies()
	s.mu.Lock()
	defer s.mu.Unlock()
	strip := false
	for _, c := range cookies {
		if c.Name == soap.SessionCookieName {
			if s.revoked[c.Value] {
				strip = true
			} else {
				s.known[c.Value] = true
			}
		}
	}
	if !strip {
		return false
	}
	r.Header.Del("Cookie")
	for _, c := range cookies {
		if c.Name == soap.SessionCookieName && s.revoked[c.Value] {
			continue
		}
		r.AddCookie(c)
	}
	return true
}

func (s *sessionTracker) noteResponse(w http.ResponseWriter, body []byte) {
	res := &http.Response{Header: http.Header{"Set-Cookie": w.Header()["Set-Cookie"]}}
	for _, c := range res.Cookies() {
		if c.Name == soap.SessionCookieName {
			s.mu.Lock()
			s.known[c.Value] = true
			if m := reUserName.FindSubmatch(body); m != nil {
				s.users[c.Value] = html.UnescapeString(string(m[1]))
			}
			s.mu.Unlock()
		}
	}
}

// expireAll invalidates every session seen so far; returns how many.
func (s *sessionTracker) expireAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.known)
	for k := range s.known {
		s.revoked[k] = true
	}
	s.known = map[string]bool{}
	return n
}
