package images

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// modulePath identifies the repository whose pause program Pause builds.
const modulePath = "github.com/styrmin/terraform-provider-styrmin"

// pausePackage is the pause program's package, relative to the module root.
const pausePackage = "internal/sandbox/images/pause"

// Pause builds PauseImage: the static pause program as /pause.
func (b *Builder) Pause(ctx context.Context) (string, error) {
	repo, err := b.repoDir(ctx)
	if err != nil {
		return "", err
	}
	src, err := os.ReadFile(filepath.Join(repo, pausePackage, "main.go"))
	if err != nil {
		return "", err
	}
	goVersion, err := output(ctx, repo, GoTool(), "env", "GOVERSION", "GOARCH")
	if err != nil {
		return "", err
	}
	key := cacheKey(PauseImage, string(src), goVersion)
	return b.cached("", "pause", key, "image", func(dest string) error {
		tmp, err := os.MkdirTemp(filepath.Dir(dest), ".pause-build-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		bin := filepath.Join(tmp, "pause")
		env := []string{"CGO_ENABLED=0", "GOFLAGS=-mod=readonly", "GOWORK=off"}
		if err := b.run(ctx, repo, env, GoTool(), "build", "-trimpath", "-buildvcs=false",
			"-ldflags=-s -w", "-o", bin, "./"+pausePackage); err != nil {
			return err
		}
		return WriteArchive(dest, Image{
			Ref:        PauseImage,
			Layers:     []Layer{{Files: []File{HostFile("/pause", 0o755, bin)}}},
			Entrypoint: []string{"/pause"},
		})
	})
}

// repoDir is the module root: RepoDir, or the module `go env GOMOD` reports for the working
// directory (the stack's commands run from the repository).
func (b *Builder) repoDir(ctx context.Context) (string, error) {
	dir := b.RepoDir
	if dir == "" {
		gomod, err := output(ctx, "", GoTool(), "env", "GOMOD")
		if err != nil {
			return "", err
		}
		gomod = strings.TrimSpace(gomod)
		if gomod == "" || gomod == os.DevNull {
			return "", fmt.Errorf("images: the working directory is not inside module %s; set Builder.RepoDir", modulePath)
		}
		dir = filepath.Dir(gomod)
	}
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return "", fmt.Errorf("images: module root: %w", err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	if strings.TrimSpace(first) != "module "+modulePath {
		return "", fmt.Errorf("images: %s is not the root of module %s; set Builder.RepoDir", dir, modulePath)
	}
	return dir, nil
}

// GoTool is the go command that builds the stack's programs: the one on PATH, else the one of
// the toolchain that built this binary (PATH may lack it, as under sudo's secure_path).
func GoTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	// The build's GOROOT is still meaningful: the stack's tool and tests are built on the machine
	// they run on (make sandbox-tool, go test), never copied elsewhere.
	return filepath.Join(runtime.GOROOT(), "bin", "go") //nolint:staticcheck // SA1019: fallback only, see above.
}

// Util builds UtilImage: Debian's static busybox with a /bin symlink per applet, /tmp and a
// minimal /etc/passwd and /etc/group.
func (b *Builder) Util(ctx context.Context) (string, error) {
	deb, version, err := b.busyboxDeb(ctx)
	if err != nil {
		return "", err
	}
	key := cacheKey(UtilImage, version)
	return b.cached("", "util", key, "image", func(dest string) error {
		tmp, err := os.MkdirTemp(filepath.Dir(dest), ".util-build-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := b.run(ctx, "", nil, "dpkg-deb", "-x", deb, tmp); err != nil {
			return err
		}
		busybox := filepath.Join(tmp, "bin", "busybox")
		list, err := output(ctx, "", busybox, "--list")
		if err != nil {
			return err
		}
		files := []File{
			HostFile("/bin/busybox", 0o755, busybox),
			Dir("/tmp", 0o777|fs.ModeSticky),
			Dir("/root", 0o700),
			RegularFile("/etc/passwd", 0o644, []byte(passwd("/root", "/bin/sh"))),
			RegularFile("/etc/group", 0o644, []byte(group)),
		}
		applets := 0
		for _, applet := range strings.Fields(list) {
			if applet == "busybox" || strings.Contains(applet, "/") {
				continue
			}
			files = append(files, Symlink("/bin/"+applet, "busybox"))
			applets++
		}
		if applets < 100 {
			return fmt.Errorf("busybox --list printed only %d applets", applets)
		}
		return WriteArchive(dest, Image{
			Ref:    UtilImage,
			Layers: []Layer{{Files: files}},
			Cmd:    []string{"/bin/sh"},
			Env:    []string{"PATH=" + standardPath},
		})
	})
}

// busyboxDeb returns Debian's busybox-static package, downloading the candidate version into the
// cache once.
func (b *Builder) busyboxDeb(ctx context.Context) (path, version string, err error) {
	show, err := output(ctx, "", "apt-cache", "show", "--no-all-versions", "busybox-static")
	if err != nil {
		return "", "", fmt.Errorf("%w (is apt configured and `apt-get update` done?)", err)
	}
	for _, line := range strings.Split(show, "\n") {
		if v, ok := strings.CutPrefix(line, "Version: "); ok {
			version = strings.TrimSpace(v)
			break
		}
	}
	if version == "" {
		return "", "", fmt.Errorf("apt-cache show busybox-static: no version")
	}
	dir := filepath.Join(b.CacheDir, "debs", "busybox-static-"+strings.NewReplacer(":", "_", "/", "_").Replace(version))
	if debs, _ := filepath.Glob(filepath.Join(dir, "*.deb")); len(debs) == 1 {
		return debs[0], version, nil
	}
	tmp := dir + ".tmp"
	os.RemoveAll(tmp)
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	// apt-get download saves into the working directory.
	if err := b.run(ctx, tmp, nil, "apt-get", "download", "busybox-static="+version); err != nil {
		return "", "", err
	}
	os.RemoveAll(dir)
	if err := os.Rename(tmp, dir); err != nil {
		return "", "", err
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "*.deb"))
	if len(debs) != 1 {
		return "", "", fmt.Errorf("apt-get download busybox-static left %d .deb files in %s", len(debs), dir)
	}
	return debs[0], version, nil
}

// Velero builds VeleroImage from the given static binaries: /velero, /velero-restore-helper, a
// world-writable /tmp and a root account whose home is /tmp, so kopia finds a writable cache.
func (b *Builder) Velero(ctx context.Context, veleroBin, restoreHelperBin string) (string, error) {
	var sums []string
	for _, p := range []string{veleroBin, restoreHelperBin} {
		sum, _, err := hashFile(p)
		if err != nil {
			return "", fmt.Errorf("velero image: %w", err)
		}
		sums = append(sums, sum)
	}
	key := cacheKey(append([]string{VeleroImage}, sums...)...)
	return b.cached("", "velero", key, "image", func(dest string) error {
		files := []File{
			HostFile("/velero", 0o755, veleroBin),
			HostFile("/velero-restore-helper", 0o755, restoreHelperBin),
			Dir("/tmp", 0o777|fs.ModeSticky),
			RegularFile("/etc/passwd", 0o644, []byte(passwd("/tmp", "/velero"))),
			RegularFile("/etc/group", 0o644, []byte(group)),
		}
		return WriteArchive(dest, Image{
			Ref:        VeleroImage,
			Layers:     []Layer{{Files: files}},
			Entrypoint: []string{"/velero"},
			Env:        []string{"PATH=" + standardPath + ":/", "HOME=/tmp"},
		})
	})
}

func passwd(rootHome, rootShell string) string {
	return "root:x:0:0:root:" + rootHome + ":" + rootShell + "\n" +
		"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
}

const group = "root:x:0:\nnogroup:x:65534:\n"
