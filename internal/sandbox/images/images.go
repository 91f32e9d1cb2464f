// Package images builds the container images the local stack runs. The node has no registry
// access, so every image is assembled here as a docker-archive tarball from local inputs (a Go
// build, Debian packages) and loaded into containerd with Import.
package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// Image references (containerd names; pods use imagePullPolicy: Never). The "localhost/" domain
// keeps containerd from normalising them into docker.io names.
const (
	PauseImage    = "localhost/styrmin/pause:1"
	UtilImage     = "localhost/styrmin/util:1" // busybox-style utility image
	PostgresImage = "localhost/styrmin/postgres:15"
	MariaDBImage  = "localhost/styrmin/mariadb:10.11"
	VeleroImage   = "localhost/styrmin/velero:v1.18.3"
)

// recipeVersion is part of every cache key: bump it when the way an image is assembled changes
// in a way its other inputs do not show, so stale tarballs are rebuilt.
const recipeVersion = "1"

// Builder builds image tarballs into CacheDir, reusing a cached tarball when its inputs are
// unchanged, and logs progress lines to Log.
type Builder struct {
	CacheDir string
	Log      io.Writer
	// RepoDir is the module root the pause program is built from; empty means the module that
	// `go env GOMOD` reports for the working directory.
	RepoDir string
}

func (b *Builder) logf(format string, args ...any) {
	if b.Log != nil {
		fmt.Fprintf(b.Log, "images: "+format+"\n", args...)
	}
}

func (b *Builder) logWriter() io.Writer {
	if b.Log == nil {
		return io.Discard
	}
	return b.Log
}

// cacheKey hashes the recipe version and the inputs of one artifact into a short file-name key.
func cacheKey(parts ...string) string {
	h := sha256.New()
	h.Write([]byte(recipeVersion))
	for _, p := range parts {
		fmt.Fprintf(h, "\x00%d:%s", len(p), p) // length-prefixed so part boundaries count
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// cached returns CacheDir/sub/name-key.tar, running build(dest) first unless that file exists.
// build must create dest atomically. Older tarballs of the same name are removed afterwards, as
// a root filesystem is hundreds of megabytes.
func (b *Builder) cached(sub, name, key, what string, build func(dest string) error) (string, error) {
	if b.CacheDir == "" {
		return "", errors.New("images: Builder.CacheDir is empty")
	}
	dir := filepath.Join(b.CacheDir, sub)
	dest := filepath.Join(dir, name+"-"+key+".tar")
	if st, err := os.Stat(dest); err == nil && st.Size() > 0 {
		b.logf("%s %s: cached %s", what, name, dest)
		return dest, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	b.logf("building %s %s into %s", what, name, dest)
	start := time.Now()
	if err := build(dest); err != nil {
		return "", fmt.Errorf("build %s %s: %w", what, name, err)
	}
	st, err := os.Stat(dest)
	if err != nil {
		return "", fmt.Errorf("build %s %s: %w", what, name, err)
	}
	b.logf("built %s %s in %s (%.1f MiB)", what, name, time.Since(start).Round(100*time.Millisecond), float64(st.Size())/(1<<20))
	pruneOld(dir, name, dest)
	return dest, nil
}

// pruneOld removes the tarballs of name built from other inputs.
func pruneOld(dir, name, keep string) {
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `-[0-9a-f]{16}\.tar$`)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if re.MatchString(e.Name()) && p != keep {
			os.Remove(p)
		}
	}
}

// run runs a command with its output in the log; an error carries the output's last lines.
func (b *Builder) run(ctx context.Context, dir string, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	tail := &tailBuffer{max: 4096}
	w := io.MultiWriter(b.logWriter(), tail)
	cmd.Stdout, cmd.Stderr = w, w
	b.logf("run: %s %s", name, strings.Join(args, " "))
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(tail.String()))
	}
	return nil
}

// output runs a command and returns its standard output.
func output(ctx context.Context, dir string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.buf) }

// Import loads a docker-archive tarball into containerd's k8s.io namespace (the one the CRI
// plugin serves to the kubelet). --all-platforms keeps ctr from filtering the content by the
// host platform; the image name is the archive's RepoTag, which containerd keeps as is because it
// is fully qualified ("localhost/...").
//
// Re-importing a changed image under the same name can race containerd 1.6's garbage collector:
// the old image's layer snapshots lose their last reference while the unpacker is reusing them
// ("parent snapshot ... does not exist"). A second attempt unpacks from scratch, so Import retries.
func Import(ctx context.Context, ctrBin, containerdSocket, tarPath string) error {
	var err error
	for attempt := 1; attempt <= importAttempts; attempt++ {
		if err = importOnce(ctx, ctrBin, containerdSocket, tarPath); err == nil || ctx.Err() != nil {
			return err
		}
		if attempt < importAttempts {
			select {
			case <-ctx.Done():
				return err
			case <-time.After(time.Second):
			}
		}
	}
	return err
}

const importAttempts = 3

func importOnce(ctx context.Context, ctrBin, containerdSocket, tarPath string) error {
	cmd := exec.CommandContext(ctx, ctrBin, "--address", containerdSocket, "-n", "k8s.io",
		"images", "import", "--all-platforms", tarPath)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("ctr images import %s: %w: %s", tarPath, err, strings.TrimSpace(string(out)))
	}
	return nil
}
