package velero

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// maxPodManifest bounds one pod's manifest in a backup's contents: a larger entry is not a pod
// Velero wrote.
const maxPodManifest = 4 << 20

// BackupPods reads the pods of namespace as backup captured them, from its contents in the
// bucket (resources/pods/namespaces/<namespace>/<pod>.json; Velero writes each again under
// v1-preferredversion/, which is skipped). Only the pods are decoded; the archive holds
// manifests, not volume data.
func (s *Store) BackupPods(ctx context.Context, backup, namespace string) ([]corev1.Pod, error) {
	key := BackupContentsKey(backup)
	body, err := s.open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	dir := path.Join("resources", "pods", "namespaces", namespace) + "/"
	var pods []corev1.Pod
	archive := tar.NewReader(body)
	for {
		header, err := archive.Next()
		if errors.Is(err, io.EOF) {
			return pods, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", key, err)
		}
		name := strings.TrimPrefix(header.Name, "./")
		if !strings.HasPrefix(name, dir) || !strings.HasSuffix(name, ".json") || strings.Contains(strings.TrimPrefix(name, dir), "/") {
			continue
		}
		if header.Size > maxPodManifest {
			return nil, fmt.Errorf("read %s: %s is %d bytes, not a pod manifest", key, name, header.Size)
		}
		var pod corev1.Pod
		if err := json.NewDecoder(archive).Decode(&pod); err != nil {
			return nil, fmt.Errorf("read %s: %s: %w", key, name, err)
		}
		pods = append(pods, pod)
	}
}
