package backups

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/styrmin/terraform-provider-styrmin/internal/driverspec"
)

// A restore in place (RestoreRequest.InPlace) replaces the components of a namespace that runs
// them. Velero restores volume data and runs restore hooks only in pods it creates, and keeps
// what already exists, so the components' workloads and the claims their pods use are deleted
// first; Velero then brings them back from the backup, as into a clone. A database's data claim
// goes too: the replay starts from an empty server, so nothing made after the backup survives it.
// Everything else in the namespace (ConfigMaps, Secrets, Services, the workloads that are not
// components) stays as it is, and Velero keeps it.

// Removal is an object an in-place restore deletes before it restores.
type Removal struct {
	Kind string // one of removalOrder
	Name string
}

func (o Removal) String() string { return o.Kind + "/" + o.Name }

// removalOrder is the order of deletion: the workloads before their pods, the claims last (a
// claim goes only once no pod uses it).
var removalOrder = []string{"StatefulSet", "Deployment", "Pod", "PersistentVolumeClaim"}

// ParseRemoval reads Removal.String's form back.
func ParseRemoval(s string) (Removal, error) {
	kind, name, ok := strings.Cut(s, "/")
	if !ok || name == "" || !slices.Contains(removalOrder, kind) {
		return Removal{}, fmt.Errorf("%q is not <kind>/<name> with kind one of %s", s, strings.Join(removalOrder, ", "))
	}
	return Removal{Kind: kind, Name: name}, nil
}

// namespaceObjects is what InPlaceRemovals looks at in the target namespace.
type namespaceObjects struct {
	statefulSets []appsv1.StatefulSet
	deployments  []appsv1.Deployment
	replicaSets  []appsv1.ReplicaSet
	pods         []corev1.Pod
	claims       []corev1.PersistentVolumeClaim
}

func (r Runner) listNamespace(ctx context.Context, namespace string) (*namespaceObjects, error) {
	var objs namespaceObjects
	sts, err := r.Kube.AppsV1().StatefulSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list StatefulSets in namespace %s: %w", namespace, err)
	}
	deps, err := r.Kube.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list Deployments in namespace %s: %w", namespace, err)
	}
	rss, err := r.Kube.AppsV1().ReplicaSets(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list ReplicaSets in namespace %s: %w", namespace, err)
	}
	pods, err := r.Kube.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list pods in namespace %s: %w", namespace, err)
	}
	claims, err := r.Kube.CoreV1().PersistentVolumeClaims(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("list PersistentVolumeClaims in namespace %s: %w", namespace, err)
	}
	objs.statefulSets, objs.deployments, objs.replicaSets, objs.pods, objs.claims = sts.Items, deps.Items, rss.Items, pods.Items, claims.Items
	return &objs, nil
}

// componentSelector is the label selector of a component with an enabled backup.
type componentSelector struct {
	component string
	labels.Selector
}

// backedUpSelectors are the selectors of the components a restore in place replaces.
func backedUpSelectors(components []driverspec.Component) []componentSelector {
	var out []componentSelector
	for _, c := range components {
		if c.Backup.Enabled && len(c.Selector) > 0 {
			out = append(out, componentSelector{c.Name, labels.SelectorFromSet(c.Selector)})
		}
	}
	return out
}

// InPlaceRemovals lists, in the order they are deleted, what restoring in place removes from
// namespace: the StatefulSets and Deployments whose pod template carries the labels of a
// component with an enabled backup (scaled to 0 or not), that component's pods no controller
// owns, and the claims these pods use (a StatefulSet's claim templates for every ordinal that has
// a claim, and the claims pod templates name). It refuses a component pod that something else
// owns (a DaemonSet, a Job, a ReplicaSet of no Deployment) and a claim that a pod outside the
// removal uses: deleting those is the user's call.
func (r Runner) InPlaceRemovals(ctx context.Context, namespace string, components []driverspec.Component) ([]Removal, error) {
	objs, err := r.listNamespace(ctx, namespace)
	if err != nil {
		return nil, err
	}
	removing := map[Removal]bool{}
	claimNames := map[string]bool{}
	for _, c := range objs.claims {
		claimNames[c.Name] = true
	}
	// claimsOf adds the claims a pod template names, and those of a StatefulSet's templates.
	claimsOf := func(spec corev1.PodSpec, sts *appsv1.StatefulSet) {
		for _, v := range spec.Volumes {
			if v.PersistentVolumeClaim != nil && claimNames[v.PersistentVolumeClaim.ClaimName] {
				removing[Removal{"PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName}] = true
			}
		}
		if sts == nil {
			return
		}
		for _, tpl := range sts.Spec.VolumeClaimTemplates {
			ordinal := regexp.MustCompile("^" + regexp.QuoteMeta(tpl.Name+"-"+sts.Name+"-") + "[0-9]+$")
			for name := range claimNames {
				if ordinal.MatchString(name) {
					removing[Removal{"PersistentVolumeClaim", name}] = true
				}
			}
		}
	}
	var problems []error
	for _, selector := range backedUpSelectors(components) {
		for i, sts := range objs.statefulSets {
			if selector.Matches(labels.Set(sts.Spec.Template.Labels)) {
				removing[Removal{"StatefulSet", sts.Name}] = true
				claimsOf(sts.Spec.Template.Spec, &objs.statefulSets[i])
			}
		}
		for _, dep := range objs.deployments {
			if selector.Matches(labels.Set(dep.Spec.Template.Labels)) {
				removing[Removal{"Deployment", dep.Name}] = true
				claimsOf(dep.Spec.Template.Spec, nil)
			}
		}
		for _, pod := range objs.pods {
			if !selector.Matches(labels.Set(pod.Labels)) {
				continue
			}
			switch owner := objs.workloadOf(&pod); {
			case owner == nil:
				removing[Removal{"Pod", pod.Name}] = true
				claimsOf(pod.Spec, nil)
			case !removing[*owner]:
				problems = append(problems, argumentError(ArgumentTargetNamespace, "pod %s of component %q in namespace %q belongs to %s %s, which a restore in place "+
					"does not remove (it removes the StatefulSets and Deployments of the components): delete it first, or give it labels that are not the component's",
					pod.Name, selector.component, namespace, owner.Kind, owner.Name))
			}
		}
	}
	// A claim that a pod outside the removal uses would stay bound; deleting it would wait forever.
	for _, pod := range objs.pods {
		if owner := objs.workloadOf(&pod); (owner == nil && removing[Removal{"Pod", pod.Name}]) || (owner != nil && removing[*owner]) {
			continue
		}
		for _, v := range pod.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && removing[Removal{"PersistentVolumeClaim", v.PersistentVolumeClaim.ClaimName}] {
				problems = append(problems, argumentError(ArgumentTargetNamespace, "claim %s of a component in namespace %q is also used by pod %s, which is not a component's: "+
					"a restore in place would replace the claim under it. Stop that pod first", v.PersistentVolumeClaim.ClaimName, namespace, pod.Name))
			}
		}
	}
	if len(problems) > 0 {
		return nil, &RefusalError{Problems: problems}
	}
	removals := make([]Removal, 0, len(removing))
	for o := range removing {
		removals = append(removals, o)
	}
	slices.SortFunc(removals, func(a, b Removal) int {
		if d := slices.Index(removalOrder, a.Kind) - slices.Index(removalOrder, b.Kind); d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return removals, nil
}

// workloadOf names the StatefulSet or Deployment that controls pod (through its ReplicaSet), the
// controller itself when it is of another kind, or nil for a pod no controller owns.
func (objs *namespaceObjects) workloadOf(pod *corev1.Pod) *Removal {
	owner := metav1.GetControllerOf(pod)
	if owner == nil {
		return nil
	}
	if owner.Kind == "ReplicaSet" {
		for _, rs := range objs.replicaSets {
			if rs.Name == owner.Name {
				if dep := metav1.GetControllerOf(&rs); dep != nil && dep.Kind == "Deployment" {
					return &Removal{"Deployment", dep.Name}
				}
			}
		}
	}
	return &Removal{owner.Kind, owner.Name}
}

// removalPollInterval is how often removeInPlace looks whether everything is gone; removalWait
// bounds the wait (a database pod may take its whole termination grace period to stop).
var (
	removalPollInterval = time.Second
	removalWait         = 10 * time.Minute
)

// removeInPlace deletes the removals (workloads in the foreground, so their pods go first) and
// waits until none of them, and no pod of the components, is left: Velero must find none of them.
func (r Runner) removeInPlace(ctx context.Context, namespace string, removals []Removal, components []driverspec.Component) error {
	foreground := metav1.DeletePropagationForeground
	opts := metav1.DeleteOptions{PropagationPolicy: &foreground}
	for _, o := range removals {
		var err error
		switch o.Kind {
		case "StatefulSet":
			err = r.Kube.AppsV1().StatefulSets(namespace).Delete(ctx, o.Name, opts)
		case "Deployment":
			err = r.Kube.AppsV1().Deployments(namespace).Delete(ctx, o.Name, opts)
		case "Pod":
			err = r.Kube.CoreV1().Pods(namespace).Delete(ctx, o.Name, opts)
		case "PersistentVolumeClaim":
			err = r.Kube.CoreV1().PersistentVolumeClaims(namespace).Delete(ctx, o.Name, opts)
		}
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s from namespace %s for the restore in place: %w", o, namespace, err)
		}
	}
	selectors := backedUpSelectors(components)
	var left []string
	err := wait.PollUntilContextTimeout(ctx, removalPollInterval, removalWait, true, func(ctx context.Context) (bool, error) {
		// A failed listing is tried again at the next poll; the timeout bounds the wait.
		objs, err := r.listNamespace(ctx, namespace)
		if err == nil {
			left = objs.present(removals, selectors)
		} else {
			left = []string{"(" + err.Error() + ")"}
		}
		return err == nil && len(left) == 0, nil
	})
	if err != nil {
		return fmt.Errorf("deleted what the restore in place replaces in namespace %s, but after %s %s still there (a finalizer, or a pod that does not stop?); "+
			"no restore was created: apply again once they are gone: %w", namespace, removalWait, strings.Join(left, ", "), err)
	}
	return nil
}

// present names the removals, and the pods of the components, that are still in the namespace.
func (objs *namespaceObjects) present(removals []Removal, selectors []componentSelector) []string {
	exists := map[Removal]bool{}
	for _, s := range objs.statefulSets {
		exists[Removal{"StatefulSet", s.Name}] = true
	}
	for _, d := range objs.deployments {
		exists[Removal{"Deployment", d.Name}] = true
	}
	for _, c := range objs.claims {
		exists[Removal{"PersistentVolumeClaim", c.Name}] = true
	}
	var left []string
	for _, o := range removals {
		if exists[o] {
			left = append(left, o.String())
		}
	}
	for _, pod := range objs.pods {
		for _, selector := range selectors {
			if selector.Matches(labels.Set(pod.Labels)) {
				left = append(left, "Pod/"+pod.Name)
				break
			}
		}
	}
	return left
}
