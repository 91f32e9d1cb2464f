package sandbox

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Status prints every component with its pid and a health check, and reports whether all are up.
func Status(ctx context.Context, l Layout, out io.Writer) (bool, error) {
	m, err := probeMachine(ctx)
	if err != nil {
		return false, err
	}
	if owner := m.owner(); owner != "" && owner != l.Dir {
		fmt.Fprintf(out, "the local stack on this machine is not this checkout's: %v\n", m.conflict(l.Dir))
		return false, nil
	}
	running := map[string]ProcessRecord{}
	for _, name := range stopOrder {
		if rec, ok := l.running(name); ok {
			running[name] = rec
		}
	}
	healthy, partial := true, len(running) > 0
	for _, name := range reverse(stopOrder) {
		rec, ok := running[name]
		state := "stopped"
		if ok {
			state = fmt.Sprintf("running (pid %d)", rec.PID)
		} else {
			healthy = false
		}
		fmt.Fprintf(out, "%-24s %-22s log: %s\n", name, state, l.LogFile(name))
		if !ok && partial {
			// A component that stopped while others run says why at the end of its log: CI
			// keeps nothing else of a clean clone. A stack that is down has nothing to explain.
			fmt.Fprintln(out, tail(l.LogFile(name), 30))
		}
	}
	if !healthy {
		return false, nil
	}
	token, err := l.pki().AdminToken()
	if err != nil {
		return false, err
	}
	checkCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := l.waitHTTP(checkCtx, "kube-apiserver", l.apiServerURL()+"/readyz", 5*time.Second, http.Header{"Authorization": {"Bearer " + token}}); err != nil {
		fmt.Fprintf(out, "api server not ready: %v\n", err)
		return false, nil
	}
	c, err := l.clients()
	if err != nil {
		return false, err
	}
	if err := l.waitNodeReady(checkCtx, c, 2*time.Second); err != nil {
		fmt.Fprintf(out, "node: %v\n", err)
		healthy = false
	} else {
		fmt.Fprintf(out, "node %q Ready\n", NodeName)
	}
	bsl, err := c.dyn.Resource(bslResource).Namespace(VeleroNamespace).Get(checkCtx, "default", metav1.GetOptions{})
	if err != nil {
		fmt.Fprintf(out, "velero BSL default: %v\n", err)
		return false, nil
	}
	phase, _, _ := unstructured.NestedString(bsl.Object, "status", "phase")
	fmt.Fprintf(out, "velero BSL default: %s (s3 %s bucket %s)\n", phase, S3Endpoint(), S3Bucket)
	pods, err := c.core.CoreV1().Pods("").List(checkCtx, metav1.ListOptions{})
	if err == nil {
		fmt.Fprintf(out, "pods:\n")
		for i := range pods.Items {
			fmt.Fprintf(out, "  %-12s %s\n", pods.Items[i].Namespace, DescribePod(&pods.Items[i]))
		}
	}
	return healthy && phase == "Available", nil
}

func reverse(s []string) []string {
	r := make([]string, len(s))
	for i, v := range s {
		r[len(s)-1-i] = v
	}
	return r
}
