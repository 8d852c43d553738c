package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/types"
)

func postLinks(t *testing.T, lab *Lab, body string) (int, map[string]interface{}) {
	t.Helper()
	u := *lab.URL
	u.Path = "/vnettool/links"
	method := http.MethodPost
	if body == "" {
		method = http.MethodDelete
	}
	req, _ := http.NewRequest(method, u.String(), bytes.NewBufferString(body))
	resp, err := httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]interface{}
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func pnicState(t *testing.T, lab *Lab) (map[string]bool, map[string]string) {
	t.Helper()
	c := login(t, lab)
	ctx := context.Background()
	_, h := firstHost(t, c)
	up := map[string]bool{}
	for _, p := range h.Config.Network.Pnic {
		up[p.Device] = p.LinkSpeed != nil
	}
	res, err := methods.QueryNetworkHint(ctx, c.Client, &types.QueryNetworkHint{This: *h.ConfigManager.NetworkSystem})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, hint := range res.Returnval {
		if hint.ConnectedSwitchPort != nil {
			seen[hint.Device] = hint.ConnectedSwitchPort.DevId + ":" + hint.ConnectedSwitchPort.PortId
		}
	}
	return up, seen
}

func TestLinkDownUnsetsSpeedAndNeighbour(t *testing.T) {
	lab, _ := startTestLab(t, nil)
	code, out := postLinks(t, lab, `{"host":"DC0_C0_H0","pnic":"vmnic1","up":false}`)
	if code != 200 || len(out["down"].([]interface{})) != 1 {
		t.Fatalf("link down: %d %v", code, out)
	}
	up, seen := pnicState(t, lab)
	if up["vmnic1"] || !up["vmnic0"] || seen["vmnic1"] != "" || seen["vmnic0"] == "" {
		t.Fatalf("after vmnic1 down: up=%v neighbours=%v", up, seen)
	}
	// a neighbour switch takes down every pNIC cabled to it (vmnic0 and vmnic2 go to -a)
	if code, out = postLinks(t, lab, `{"switch":"tor-dc0_c0-a","up":false}`); code != 200 {
		t.Fatalf("switch down: %d %v", code, out)
	}
	if up, _ = pnicState(t, lab); up["vmnic0"] || up["vmnic2"] || !up["vmnic3"] {
		t.Fatalf("after switch down: %v", up)
	}
	if code, _ = postLinks(t, lab, ""); code != 200 {
		t.Fatal("reset failed")
	}
	up, seen = pnicState(t, lab)
	for _, d := range []string{"vmnic0", "vmnic1", "vmnic2", "vmnic3"} {
		if !up[d] || seen[d] == "" {
			t.Fatalf("after reset %s: up=%v neighbours=%v", d, up, seen)
		}
	}
}

func TestLinkControlRejectsUnknownTargets(t *testing.T) {
	lab, _ := startTestLab(t, nil)
	for _, body := range []string{
		`{"host":"nope","pnic":"vmnic0","up":false}`,
		`{"host":"DC0_C0_H0","pnic":"vmnic9","up":false}`,
		`{"switch":"no-such-switch","up":false}`,
		`{"host":"DC0_C0_H0","pnic":"vmnic0"}`,
		`{"host":"DC0_C0_H0","switch":"x","up":false}`,
		`{"bogus":1}`,
	} {
		if code, out := postLinks(t, lab, body); code != 400 || out["error"] == "" {
			t.Fatalf("%s: %d %v", body, code, out)
		}
	}
	if up, _ := pnicState(t, lab); !up["vmnic0"] {
		t.Fatal("a rejected request changed a link")
	}
}
