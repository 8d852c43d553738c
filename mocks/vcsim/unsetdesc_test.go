package main

import (
	"strings"
	"testing"
)

func TestOnlyTheSpecsOwnEmptyDescriptionIsMarked(t *testing.T) {
	body := `<soapenv:Envelope><soapenv:Body><ReconfigureDvs_Task xmlns="urn:vim25"><_this type="VmwareDistributedVirtualSwitch">dvs-1</_this>` +
		`<spec xsi:type="VMwareDVSConfigSpec"><configVersion>3</configVersion><description></description>` +
		`<vspanConfigSpec><vspanSession><description></description></vspanSession></vspanConfigSpec></spec></ReconfigureDvs_Task></soapenv:Body></soapenv:Envelope>`
	out := string(markUnsetDescriptions([]byte(body)))
	if strings.Count(out, unsetDescription) != 1 || !strings.Contains(out, "<configVersion>3</configVersion><description>"+unsetDescription+"</description><vspanConfigSpec>") {
		t.Fatalf("marked: %s", out)
	}
	if !strings.Contains(out, "<vspanSession><description></description>") {
		t.Fatalf("a nested description was touched: %s", out)
	}
	for _, keep := range []string{
		strings.Replace(body, "<description></description>", "<description>core</description>", 1), // a text
		strings.Replace(body, "ReconfigureDvs_Task", "CreateDVS_Task", 2),                          // another call
	} {
		if got := string(markUnsetDescriptions([]byte(keep))); got != keep {
			t.Fatalf("changed: %s", got)
		}
	}
	self := strings.Replace(body, "<description></description>", "<description/>", 1)
	if out := string(markUnsetDescriptions([]byte(self))); !strings.Contains(out, "<description>"+unsetDescription+"</description><vspanConfigSpec>") {
		t.Fatalf("self-closing not marked: %s", out)
	}
	if described(unsetDescription) != "" || described("core") != "core" {
		t.Fatal("described")
	}
}
