package kubeconn

import (
	"bytes"
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/remotecommand"
)

// PodExec runs commands in pods' containers through the API server, as kubectl exec does.
type PodExec struct {
	Config *rest.Config
	Kube   kubernetes.Interface
}

// Exec runs command (no shell unless the command is one) in a container and returns its stdout;
// a non-zero exit is an error that carries stderr.
func (e PodExec) Exec(ctx context.Context, namespace, pod, container string, command ...string) (string, error) {
	req := e.Kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(namespace).Name(pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{Container: container, Command: command, Stdout: true, Stderr: true}, scheme.ParameterCodec)
	exec, err := remotecommand.NewSPDYExecutor(e.Config, "POST", req.URL())
	if err != nil {
		return "", err
	}
	var stdout, stderr bytes.Buffer
	if err := exec.StreamWithContext(ctx, remotecommand.StreamOptions{Stdout: &stdout, Stderr: &stderr}); err != nil {
		return stdout.String(), fmt.Errorf("exec %v in %s/%s: %w: %s", command, namespace, pod, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String(), nil
}
