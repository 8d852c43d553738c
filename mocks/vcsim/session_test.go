package main

import (
	"context"
	"testing"

	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

// An expired session reading properties gets NotAuthenticated (stock vcsim answered
// RetrieveProperties without a session with an empty result, so clients saw no hosts).
func TestExpiredSessionCannotRetrieveProperties(t *testing.T) {
	lab, c := startTestLab(t, nil)
	ctx := context.Background()
	res, err := httpClient().Post(lab.ControlURL()+"sessions/expire", "application/json", nil)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("expire: %v %v", res, err)
	}
	res.Body.Close()
	req := types.RetrieveProperties{
		This: c.ServiceContent.PropertyCollector,
		SpecSet: []types.PropertyFilterSpec{{
			ObjectSet: []types.ObjectSpec{{Obj: c.ServiceContent.RootFolder}},
			PropSet:   []types.PropertySpec{{Type: "Folder", PathSet: []string{"name"}}},
		}},
	}
	_, err = methods.RetrieveProperties(ctx, c.Client, &req)
	if err == nil || !soap.IsSoapFault(err) {
		t.Fatalf("expected a SOAP fault, got %v", err)
	}
	if _, ok := soap.ToSoapFault(err).VimFault().(types.NotAuthenticated); !ok {
		t.Fatalf("expected NotAuthenticated, got %#v", soap.ToSoapFault(err).VimFault())
	}
}
