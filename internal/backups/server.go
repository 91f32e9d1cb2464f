package backups

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/styrmin/terraform-provider-styrmin/internal/strategy"
	"github.com/styrmin/terraform-provider-styrmin/internal/velero"
)

// serverAnswerWait bounds how long the preflight waits for the Velero server to answer. It
// answers a ServerStatusRequest within a second when it runs; a server that does not run would
// otherwise leave an apply waiting for its whole timeout on a backup nobody processes.
var serverAnswerWait = 20 * time.Second

// checkServer asks the Velero server for its status (a ServerStatusRequest, which its controller
// answers at once) and fails, naming the server, when no answer comes.
func (r Runner) checkServer(ctx context.Context) error {
	request := &velerov1.ServerStatusRequest{ObjectMeta: metav1.ObjectMeta{GenerateName: "styrmin-preflight-",
		Labels: map[string]string{velero.ManagedByLabel: velero.ManagedBy}}}
	created, err := velero.Create(ctx, r.Velero, request)
	if err != nil {
		return fmt.Errorf("ask the Velero server in namespace %s for its status: %w", r.Velero.Namespace, err)
	}
	defer func() {
		_ = velero.Delete[velerov1.ServerStatusRequest](context.WithoutCancel(ctx), r.Velero, created.Name)
	}()
	wait, cancel := context.WithTimeout(ctx, serverAnswerWait)
	defer cancel()
	_, err = velero.WaitFor(wait, r.Velero, created.Name, func(s *velerov1.ServerStatusRequest) (bool, error) {
		return s.Status.Phase == velerov1.ServerStatusRequestPhaseProcessed, nil
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		return fmt.Errorf("the Velero server in namespace %s did not answer a ServerStatusRequest within %s: it is not running, "+
			"so no backup or restore would be processed. Check it: kubectl -n %[1]s get deployment velero; kubectl -n %[1]s logs deployment/velero",
			r.Velero.Namespace, serverAnswerWait)
	}
	return fmt.Errorf("ask the Velero server in namespace %s for its status: %w", r.Velero.Namespace, err)
}

// checkNodeAgents fails for every plan that backs up or restores pod volumes on a node where no
// node-agent runs: Velero's file-system backup and restore run there, and without it the
// PodVolumeBackups would wait until the backup's timeout.
func (r Runner) checkNodeAgents(ctx context.Context, plans []*strategy.Plan, pods []corev1.Pod) []error {
	nodeOf := map[string]string{}
	for _, pod := range pods {
		nodeOf[pod.Name] = pod.Spec.NodeName
	}
	agents, err := r.Kube.CoreV1().Pods(r.Velero.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "role=node-agent"})
	if err != nil {
		return []error{fmt.Errorf("list Velero's node-agent pods in namespace %s: %w", r.Velero.Namespace, err)}
	}
	serving := map[string]bool{}
	for _, agent := range agents.Items {
		if agent.Status.Phase == corev1.PodRunning && agent.DeletionTimestamp == nil {
			serving[agent.Spec.NodeName] = true
		}
	}
	var problems []error
	for _, p := range plans {
		if len(p.Volumes) == 0 {
			continue
		}
		var missing []string
		for _, pod := range p.Pods {
			if node := nodeOf[pod]; !serving[node] && !slices.Contains(missing, node) {
				missing = append(missing, node)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, &ArgumentError{Argument: ArgumentComponents, Component: p.Component, Err: fmt.Errorf(
				"component %s: no Velero node-agent runs on node %s, where its pods are: Velero's file-system backup of their volumes runs there, "+
					"and would wait until the timeout. Check it: kubectl -n %s get daemonset node-agent", p.Component, strings.Join(missing, ", "), r.Velero.Namespace)})
		}
	}
	return problems
}

// checkRepositories fails when Velero marked the file-system backup repository of namespace in
// location NotReady (the store was unreachable when Velero last checked it, say): Velero checks it
// again only every five minutes, and until then every backup of the namespace fails "errored
// early". Deleted, it is made again by the next backup.
func (r Runner) checkRepositories(ctx context.Context, namespace, location string) []error {
	repos, err := velero.List[velerov1.BackupRepository](ctx, r.Velero, labels.SelectorFromSet(labels.Set{
		velerov1.VolumeNamespaceLabel: namespace, velerov1.StorageLocationLabel: location}).String())
	if err != nil {
		return []error{fmt.Errorf("list Velero's backup repositories of namespace %s: %w", namespace, err)}
	}
	var problems []error
	for _, repo := range repos {
		if repo.Status.Phase != velerov1.BackupRepositoryPhaseNotReady {
			continue
		}
		problems = append(problems, argumentError(ArgumentLocation, "Velero's backup repository %s of namespace %s in location %q is NotReady (%s): "+
			"every backup of the namespace fails until Velero checks it again (every 5 minutes). Once the store is reachable, "+
			"delete it and Velero makes it again: kubectl -n %s delete backuprepository %s",
			repo.Name, namespace, location, repo.Status.Message, r.Velero.Namespace, repo.Name))
	}
	return problems
}
