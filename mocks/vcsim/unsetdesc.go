package main

// An empty description in a reconfigure unsets it, as on vCenter.
//
// vCenter keeps a switch's or DV port group's description when a
// ReconfigureDvs_Task / ReconfigureDVPortgroup_Task spec leaves the element
// out, and clears it when the spec carries it empty (`<description></description>`,
// how pyVmomi sends ""): the vSphere Client clears a description that way and
// vnettool's rollback of a description it set does too. govmomi's types have no
// "set" bit for strings, so both decoded to "" and the lab could never clear a
// description. The router rewrites an empty description that is a direct child
// of the call's <spec> to a sentinel before vcsim decodes the request; the
// reconfigure handlers (dvs.go) store it as "". Nested descriptions (mirror
// sessions, traffic rules) are not touched.

import (
	"bytes"
	"encoding/xml"
	"regexp"
	"strings"
)

const unsetDescription = "vnettool-lab:unset-description"

var reReconfigureSpec = regexp.MustCompile(`<(ReconfigureDvs_Task|ReconfigureDVPortgroup_Task)\b`)

// markUnsetDescriptions replaces the spec's own empty <description> with the sentinel.
func markUnsetDescriptions(body []byte) []byte {
	if !reReconfigureSpec.Match(body) {
		return body
	}
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth, specDepth := 0, -1
	start, text := int64(-1), ""
	var spans [][2]int64
	for {
		off := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			break
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if specDepth < 0 && t.Name.Local == "spec" {
				specDepth = depth
			} else if specDepth > 0 && depth == specDepth+1 && t.Name.Local == "description" {
				start, text = off, ""
			}
		case xml.CharData:
			if start >= 0 {
				text += string(t)
			}
		case xml.EndElement:
			if start >= 0 && depth == specDepth+1 && t.Name.Local == "description" {
				if strings.TrimSpace(text) == "" {
					spans = append(spans, [2]int64{start, dec.InputOffset()})
				}
				start = -1
			}
			depth--
		}
	}
	for i := len(spans) - 1; i >= 0; i-- {
		s := spans[i]
		repl := []byte("<description>" + unsetDescription + "</description>")
		body = append(body[:s[0]:s[0]], append(repl, body[s[1]:]...)...)
	}
	return body
}

// described is what a reconfigure stores for a description the spec carried.
func described(s string) string {
	if s == unsetDescription {
		return ""
	}
	return s
}
