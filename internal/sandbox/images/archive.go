package images

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Image describes a container image to write as a docker-archive tarball (the format of
// `docker save`, which `ctr images import` understands).
type Image struct {
	Ref        string // full reference, e.g. "localhost/styrmin/util:1"; becomes the RepoTag
	Layers     []Layer
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
	StopSignal string // e.g. "SIGINT"; empty means the runtime's default (SIGTERM)
}

// Layer is either an existing uncompressed tar (TarPath, optionally rewritten entry by entry by
// Filter) or a list of files packed into a fresh tar.
type Layer struct {
	TarPath string
	// Filter, if set, rewrites each header of TarPath; returning false drops the entry (and its
	// content). It lets a raw root filesystem tar become a clean layer.
	Filter func(*tar.Header) (*tar.Header, bool)
	Files  []File
}

// FileType says what a File is.
type FileType int

const (
	TypeFile FileType = iota
	TypeDir
	TypeSymlink
)

// File is one entry of a layer built from a file list. Parent directories that are not listed are
// added with mode 0755 so the layer is self-contained.
type File struct {
	Path   string      // absolute path in the image
	Type   FileType    //
	Mode   fs.FileMode // permission bits, plus fs.ModeSticky/ModeSetuid/ModeSetgid
	Data   []byte      // content of a TypeFile, unless Source is set
	Source string      // host file whose content a TypeFile takes
	Target string      // target of a TypeSymlink
	UID    int
	GID    int
}

// Dir, RegularFile, HostFile and Symlink are shorthands for building file lists.
func Dir(p string, mode fs.FileMode) File { return File{Path: p, Type: TypeDir, Mode: mode} }
func RegularFile(p string, mode fs.FileMode, data []byte) File {
	return File{Path: p, Type: TypeFile, Mode: mode, Data: data}
}
func HostFile(p string, mode fs.FileMode, source string) File {
	return File{Path: p, Type: TypeFile, Mode: mode, Source: source}
}
func Symlink(p, target string) File {
	return File{Path: p, Type: TypeSymlink, Mode: 0o777, Target: target}
}

// layerMtime is the modification time of every entry of a generated layer: a fixed value keeps
// the layer (and so its diff_id) identical across builds.
var layerMtime = time.Unix(0, 0).UTC()

// imageCreated is the config's creation time, fixed for the same reason.
const imageCreated = "1970-01-01T00:00:00Z"

// manifestEntry is one element of a docker-archive manifest.json.
type manifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// imageConfig is the subset of the Docker/OCI image configuration that the runtime reads.
type imageConfig struct {
	Architecture string          `json:"architecture"`
	OS           string          `json:"os"`
	Created      string          `json:"created"`
	Config       containerConfig `json:"config"`
	RootFS       rootFS          `json:"rootfs"`
	History      []history       `json:"history"`
}

type containerConfig struct {
	Entrypoint []string `json:"Entrypoint,omitempty"`
	Cmd        []string `json:"Cmd,omitempty"`
	Env        []string `json:"Env,omitempty"`
	WorkingDir string   `json:"WorkingDir,omitempty"`
	User       string   `json:"User,omitempty"`
	StopSignal string   `json:"StopSignal,omitempty"`
}

type rootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

type history struct {
	Created   string `json:"created"`
	CreatedBy string `json:"created_by"`
}

// WriteArchive writes img as a docker-archive tarball at dest. It writes to a temporary file in the
// same directory and renames it into place, so dest is either absent or complete.
func WriteArchive(dest string, img Image) (err error) {
	if img.Ref == "" {
		return errors.New("image has no reference")
	}
	dir := filepath.Dir(dest)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	// Layers are staged as files first: a layer's digest names its entry in the archive, so it
	// must be known before the entry's header is written.
	var cleanup []string
	defer func() {
		for _, p := range cleanup {
			os.Remove(p)
		}
	}()
	type staged struct {
		path   string
		digest string
		size   int64
	}
	var layers []staged
	for i, l := range img.Layers {
		var p string
		switch {
		case l.TarPath != "" && len(l.Files) > 0:
			return fmt.Errorf("layer %d has both TarPath and Files", i)
		case l.TarPath != "" && l.Filter == nil:
			p = l.TarPath
		case l.TarPath != "":
			p, err = stageTemp(dir, func(w io.Writer) error { return filterTar(l.TarPath, w, l.Filter) })
		default:
			p, err = stageTemp(dir, func(w io.Writer) error { return writeFilesTar(w, l.Files) })
		}
		if p != l.TarPath && p != "" {
			cleanup = append(cleanup, p)
		}
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		digest, size, err := hashFile(p)
		if err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
		layers = append(layers, staged{path: p, digest: digest, size: size})
	}

	cfg := imageConfig{
		Architecture: runtime.GOARCH, // the host's: every layer comes from this machine's builds and packages
		OS:           "linux",
		Created:      imageCreated,
		Config: containerConfig{
			Entrypoint: img.Entrypoint, Cmd: img.Cmd, Env: img.Env,
			WorkingDir: img.WorkingDir, User: img.User, StopSignal: img.StopSignal,
		},
		RootFS: rootFS{Type: "layers", DiffIDs: []string{}},
	}
	man := manifestEntry{RepoTags: []string{img.Ref}, Layers: []string{}}
	for i, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, "sha256:"+l.digest)
		man.Layers = append(man.Layers, l.digest+"/layer.tar")
		cfg.History = append(cfg.History, history{Created: imageCreated, CreatedBy: fmt.Sprintf("styrmin images: layer %d", i)})
	}
	cfgJSON, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	cfgSum := sha256.Sum256(cfgJSON)
	man.Config = hex.EncodeToString(cfgSum[:]) + ".json"
	manJSON, err := json.Marshal([]manifestEntry{man})
	if err != nil {
		return err
	}

	out, err := os.CreateTemp(dir, ".archive-*.tmp")
	if err != nil {
		return err
	}
	cleanup = append(cleanup, out.Name())
	tw := tar.NewWriter(out)
	writeBytes := func(name string, data []byte) error {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: layerMtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	seen := map[string]bool{}
	for _, l := range layers {
		if seen[l.digest] { // two identical layers share one entry
			continue
		}
		seen[l.digest] = true
		if err := tw.WriteHeader(&tar.Header{Name: l.digest + "/", Mode: 0o755, ModTime: layerMtime, Typeflag: tar.TypeDir, Format: tar.FormatPAX}); err != nil {
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: l.digest + "/layer.tar", Mode: 0o644, Size: l.size, ModTime: layerMtime, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
			return err
		}
		f, err := os.Open(l.path)
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, f)
		f.Close()
		if err != nil {
			return err
		}
		if n != l.size {
			return fmt.Errorf("layer %s changed while writing the archive", l.path)
		}
	}
	if err := writeBytes(man.Config, cfgJSON); err != nil {
		return err
	}
	if err := writeBytes("manifest.json", manJSON); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := out.Sync(); err != nil {
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chmod(out.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(out.Name(), dest)
}

// stageTemp writes a temporary file in dir with fill and returns its path (also on error, so the
// caller can remove it).
func stageTemp(dir string, fill func(io.Writer) error) (string, error) {
	f, err := os.CreateTemp(dir, ".layer-*.tmp")
	if err != nil {
		return "", err
	}
	if err := fill(f); err != nil {
		f.Close()
		return f.Name(), err
	}
	return f.Name(), f.Close()
}

func hashFile(p string) (digest string, size int64, err error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

// filterTar copies the tar at src to w, passing every header through filter.
func filterTar(src string, w io.Writer, filter func(*tar.Header) (*tar.Header, bool)) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	tw := tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", src, err)
		}
		out, keep := filter(hdr)
		if !keep {
			continue
		}
		if err := tw.WriteHeader(out); err != nil {
			return fmt.Errorf("%s: %w", out.Name, err)
		}
		// Only regular files have content; the reader returns nothing for the other types.
		if _, err := io.Copy(tw, tr); err != nil {
			return fmt.Errorf("%s: %w", out.Name, err)
		}
	}
	return tw.Close()
}

// writeFilesTar packs files (sorted by path, with missing parent directories) into a tar.
func writeFilesTar(w io.Writer, files []File) error {
	byPath := map[string]File{}
	for _, f := range files {
		p := cleanPath(f.Path)
		if p == "" {
			return fmt.Errorf("bad path %q", f.Path)
		}
		if _, dup := byPath[p]; dup {
			return fmt.Errorf("duplicate path %q", f.Path)
		}
		f.Path = p
		byPath[p] = f
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = Dir(d, 0o755)
			}
		}
	}
	// A parent that is not a directory would make the layer unextractable.
	for p := range byPath {
		if d := path.Dir(p); d != "." && byPath[d].Type != TypeDir {
			return fmt.Errorf("%q is inside %q, which is not a directory", p, d)
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	sort.Strings(paths) // parents sort before their children
	tw := tar.NewWriter(w)
	for _, p := range paths {
		f := byPath[p]
		hdr := &tar.Header{
			Name: p, Mode: tarMode(f.Mode), Uid: f.UID, Gid: f.GID,
			ModTime: layerMtime, Format: tar.FormatPAX,
		}
		switch f.Type {
		case TypeDir:
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		case TypeSymlink:
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = f.Target
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
		case TypeFile:
			hdr.Typeflag = tar.TypeReg
			if err := writeFileEntry(tw, hdr, f); err != nil {
				return fmt.Errorf("%s: %w", f.Path, err)
			}
		default:
			return fmt.Errorf("%s: unknown file type %d", f.Path, f.Type)
		}
	}
	return tw.Close()
}

func writeFileEntry(tw *tar.Writer, hdr *tar.Header, f File) error {
	if f.Source == "" {
		hdr.Size = int64(len(f.Data))
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(f.Data)
		return err
	}
	src, err := os.Open(f.Source)
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("source %s is not a regular file", f.Source)
	}
	hdr.Size = st.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, src)
	if err == nil && n != hdr.Size {
		err = fmt.Errorf("source %s changed while reading", f.Source)
	}
	return err
}

// cleanPath turns an image path into a tar entry name: relative, cleaned, no "..".
func cleanPath(p string) string {
	c := strings.TrimPrefix(path.Clean("/"+p), "/")
	if c == "" || c == "." {
		return ""
	}
	return c
}

// tarMode converts permission and special bits to the tar header's mode field.
func tarMode(m fs.FileMode) int64 {
	mode := int64(m.Perm())
	if m&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	return mode
}
