package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/vmware/govmomi/object"
	"github.com/vmware/govmomi/simulator"
	"github.com/vmware/govmomi/task"
	"github.com/vmware/govmomi/vim25/methods"
	"github.com/vmware/govmomi/vim25/soap"
	"github.com/vmware/govmomi/vim25/types"
)

func postFault(t *testing.T, lab *Lab, rule string) (int, map[string]interface{}) {
	t.Helper()
	res, err := httpClient().Post(lab.ControlURL()+"faults", "application/json", bytes.NewBufferString(rule))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]interface{}
	_ = json.NewDecoder(res.Body).Decode(&v)
	return res.StatusCode, v
}

func TestFaultRulesFireCountTimesWithTheNamedFault(t *testing.T) {
	lab, c := startTestLab(t, nil)
	defer func() { faults.mu.Lock(); faults.rules = nil; faults.mu.Unlock() }()
	if code, _ := postFault(t, lab, `{"method":"CurrentTime","action":"fault","fault":"ConcurrentAccess","count":2}`); code != 200 {
		t.Fatalf("add: %d", code)
	}
	ctx := context.Background()
	req := types.CurrentTime{This: c.ServiceContent.RootFolder}
	req.This = types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}
	for i := 0; i < 2; i++ {
		_, err := methods.CurrentTime(ctx, c.Client, &req)
		if err == nil || !soap.IsSoapFault(err) {
			t.Fatalf("call %d: want a SOAP fault, got %v", i, err)
		}
		if _, ok := soap.ToSoapFault(err).VimFault().(types.ConcurrentAccess); !ok {
			t.Fatalf("call %d: want ConcurrentAccess, got %#v", i, soap.ToSoapFault(err).VimFault())
		}
	}
	if _, err := methods.CurrentTime(ctx, c.Client, &req); err != nil {
		t.Fatalf("third call: the rule should be spent: %v", err)
	}
}

func TestFaultRuleValidationAndListing(t *testing.T) {
	lab, _ := startTestLab(t, nil)
	defer func() { faults.mu.Lock(); faults.rules = nil; faults.mu.Unlock() }()
	for _, bad := range []string{
		`{"method":"","action":"503"}`,
		`{"method":"X","action":"explode"}`,
		`{"method":"X","action":"fault","fault":"NoSuchFault"}`,
		`{"method":"X","action":"delay"}`,
		`{"method":"X","action":"503","probability":2}`,
		`not json`,
	} {
		if code, v := postFault(t, lab, bad); code != 400 || v["ok"] != false {
			t.Fatalf("%s: want 400, got %d %v", bad, code, v)
		}
	}
	if code, _ := postFault(t, lab, `{"method":"*","action":"503","count":0}`); code != 200 {
		t.Fatal("valid rule refused")
	}
	res, err := httpClient().Get(lab.ControlURL() + "faults")
	if err != nil {
		t.Fatal(err)
	}
	var v struct{ Rules []faultRule }
	_ = json.NewDecoder(res.Body).Decode(&v)
	res.Body.Close()
	if len(v.Rules) != 1 || v.Rules[0].Method != "*" {
		t.Fatalf("list: %+v", v.Rules)
	}
	r, _ := http.NewRequest(http.MethodDelete, lab.ControlURL()+"faults", nil)
	res, err = httpClient().Do(r)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("clear: %v", err)
	}
	res.Body.Close()
	// with the 503 rule cleared, the SDK answers again
	res, err = httpClient().Post(lab.URL.String(), "text/xml", strings.NewReader("<x/>"))
	if err != nil || res.StatusCode == http.StatusServiceUnavailable {
		t.Fatalf("after clear: %v %v", err, res.StatusCode)
	}
	res.Body.Close()
}

func TestTaskFailReturnsATaskThatEndsInTheFaultAndAppliesNothing(t *testing.T) {
	lab, c := startTestLab(t, nil)
	defer func() { faults.mu.Lock(); faults.rules = nil; faults.mu.Unlock() }()
	if code, v := postFault(t, lab, `{"method":"Rename_Task","action":"fault","fault":"X"}`); code != 400 {
		t.Fatalf("unknown fault accepted: %v", v)
	}
	if code, v := postFault(t, lab, `{"method":"CurrentTime","action":"task_fail","fault":"ResourceInUse"}`); code != 400 {
		t.Fatalf("task_fail on a non-task method accepted: %v", v)
	}
	if code, v := postFault(t, lab, `{"method":"Rename_Task","action":"task_fail","fault":"ResourceInUse","delay_ms":20,"count":1}`); code != 200 {
		t.Fatalf("add: %v", v)
	}
	ctx := context.Background()
	vm := simulator.Map.Any("VirtualMachine").(*simulator.VirtualMachine)
	before := vm.Name
	res, err := methods.Rename_Task(ctx, c.Client, &types.Rename_Task{This: vm.Self, NewName: "renamed-by-test"})
	if err != nil {
		t.Fatalf("the call itself must succeed (the task fails later): %v", err)
	}
	_, err = object.NewTask(c.Client, res.Returnval).WaitForResult(ctx, nil)
	if err == nil {
		t.Fatal("the task should end in error")
	}
	te, ok := err.(task.Error)
	if !ok {
		t.Fatalf("want a task.Error, got %T %v", err, err)
	}
	if _, ok := te.Fault().(*types.ResourceInUse); !ok {
		t.Fatalf("want ResourceInUse, got %#v", te.Fault())
	}
	if vm.Name != before {
		t.Fatalf("nothing may be applied; name is %q", vm.Name)
	}
	// spent: the next rename runs for real
	res, err = methods.Rename_Task(ctx, c.Client, &types.Rename_Task{This: vm.Self, NewName: before + "-x"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err = object.NewTask(c.Client, res.Returnval).WaitForResult(ctx, nil); err != nil {
		t.Fatalf("second rename: %v", err)
	}
}

func TestMalformedAnswersAnIllFormedBody(t *testing.T) {
	lab, c := startTestLab(t, nil)
	defer func() { faults.mu.Lock(); faults.rules = nil; faults.mu.Unlock() }()
	if code, v := postFault(t, lab, `{"method":"CurrentTime","action":"malformed","count":1}`); code != 200 {
		t.Fatalf("add: %v", v)
	}
	req := types.CurrentTime{This: types.ManagedObjectReference{Type: "ServiceInstance", Value: "ServiceInstance"}}
	if _, err := methods.CurrentTime(context.Background(), c.Client, &req); err == nil {
		t.Fatal("a truncated body must not decode")
	}
	if _, err := methods.CurrentTime(context.Background(), c.Client, &req); err != nil {
		t.Fatalf("rule spent, call must work: %v", err)
	}
}

func TestLoseRunsTheCallAndAnswersNothing(t *testing.T) {
	lab, c := startTestLab(t, nil)
	defer func() { faults.mu.Lock(); faults.rules = nil; faults.mu.Unlock() }()
	if code, v := postFault(t, lab, `{"method":"CreateFolder","action":"lose","count":1}`); code != 200 {
		t.Fatalf("add: %v", v)
	}
	ctx := context.Background()
	root := object.NewRootFolder(c.Client)
	if _, err := root.CreateFolder(ctx, "lost-answer"); err == nil {
		t.Fatal("the answer must be lost")
	}
	_, err := root.CreateFolder(ctx, "lost-answer")
	if err == nil || !strings.Contains(err.Error(), "DuplicateName") {
		t.Fatalf("the first call must have run: the second wants DuplicateName, got %v", err)
	}
}
