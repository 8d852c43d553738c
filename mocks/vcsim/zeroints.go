package main

// Optional integers written as 0 read back as 0, as on ESXi.
//
// A standard switch or port group policy has optional ints (failureCriteria
// speed / percentage, shaping averageBandwidth / peakBandwidth / burstSize).
// ESXi keeps what a client wrote: an explicit 0 reads back as 0, a field left
// out reads back unset. govmomi's types have no "set" bit for these ints and
// its encoder drops zero values, so an explicit 0 came back unset and a client
// comparing what it wrote with what it reads saw a difference that never goes
// away.
//
// The lab keeps the explicit 0 as a sentinel value: the router rewrites
// `<percentage>0</percentage>` in HostNetworkSystem calls to the sentinel
// before vcsim decodes the request, the value travels through the lab's
// policy code like any other (copied into computedPolicy, networkConfig), and
// every SOAP response has the sentinel turned back into 0 on the way out.

import (
	"bytes"
	"net/http"
	"regexp"
	"strconv"
)

const (
	zeroInt32 = -2147483647          // sentinel for an explicit 0 in an optional xsd:int
	zeroInt64 = -9223372036854775807 // … in an optional xsd:long
)

var (
	// HostNetworkSystem methods whose specs carry a HostNetworkPolicy.
	reZeroMethods = regexp.MustCompile(`<(AddPortGroup|UpdatePortGroup|AddVirtualSwitch|UpdateVirtualSwitch|UpdateNetworkConfig)\b`)
	reZeroInt32   = regexp.MustCompile(`<(speed|percentage)>\s*0+\s*</(speed|percentage)>`)
	// DV port group specs: traffic rules (DSCP / CoS 0 clears the tag; protocol, VLAN 0).
	reZeroDvpg     = regexp.MustCompile(`<(ReconfigureDVPortgroup_Task|AddDVPortgroup_Task)\b`)
	reZeroTagInt32 = regexp.MustCompile(`<(qosTag|dscpTag|sequence|precedence|prefixLength)>\s*0+\s*</(qosTag|dscpTag|sequence|precedence|prefixLength)>`)
	reZeroExpr     = regexp.MustCompile(`<(protocol|vlanId|tcpFlags)>(\s*<negate>[a-z]*</negate>)?\s*<value>\s*0+\s*</value>`)
	reZeroInt64    = regexp.MustCompile(`<(averageBandwidth|peakBandwidth|burstSize)>\s*0+\s*</(averageBandwidth|peakBandwidth|burstSize)>`)

	zeroTokens = [][]byte{
		[]byte(">" + strconv.FormatInt(zeroInt32, 10) + "<"),
		[]byte(">" + strconv.FormatInt(zeroInt64, 10) + "<"),
	}
)

// markExplicitZeros rewrites explicit zeros of policy ints in a request body.
func markExplicitZeros(body []byte) []byte {
	if reZeroDvpg.Match(body) {
		z := strconv.FormatInt(zeroInt32, 10)
		body = reZeroTagInt32.ReplaceAll(body, []byte("<${1}>"+z+"</${1}>"))
		return reZeroExpr.ReplaceAll(body, []byte("<${1}>${2}<value>"+z+"</value>"))
	}
	if !reZeroMethods.Match(body) {
		return body
	}
	body = reZeroInt32.ReplaceAll(body, []byte("<${1}>"+strconv.FormatInt(zeroInt32, 10)+"</${1}>"))
	return reZeroInt64.ReplaceAll(body, []byte("<${1}>"+strconv.FormatInt(zeroInt64, 10)+"</${1}>"))
}

// zeroWriter turns sentinels back into 0. vcsim encodes a response into a
// buffer and writes it in one call, so a sentinel never spans two writes.
type zeroWriter struct {
	http.ResponseWriter
}

func (z zeroWriter) Write(p []byte) (int, error) {
	out := p
	for _, tok := range zeroTokens {
		if bytes.Contains(out, tok) {
			out = bytes.ReplaceAll(out, tok, []byte(">0<"))
		}
	}
	if _, err := z.ResponseWriter.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
