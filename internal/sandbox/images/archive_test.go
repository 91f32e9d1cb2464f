package images

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readArchive returns the entries of a tar file by name.
func readTar(t *testing.T, r io.Reader) (map[string]*tar.Header, map[string][]byte, []string) {
	t.Helper()
	hdrs := map[string]*tar.Header{}
	data := map[string][]byte{}
	var order []string
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		hdrs[h.Name], data[h.Name] = h, b
		order = append(order, h.Name)
	}
	return hdrs, data, order
}

type archiveContents struct {
	manifest []manifestEntry
	config   imageConfig
	layers   [][]byte // uncompressed layer tars, in manifest order
}

func openArchive(t *testing.T, path string) archiveContents {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, data, _ := readTar(t, f)
	var c archiveContents
	if err := json.Unmarshal(data["manifest.json"], &c.manifest); err != nil {
		t.Fatalf("manifest.json: %v", err)
	}
	if len(c.manifest) != 1 {
		t.Fatalf("manifest has %d entries", len(c.manifest))
	}
	m := c.manifest[0]
	cfg, ok := data[m.Config]
	if !ok {
		t.Fatalf("config %s missing", m.Config)
	}
	sum := sha256.Sum256(cfg)
	if want := hex.EncodeToString(sum[:]) + ".json"; m.Config != want {
		t.Errorf("config named %s, its digest says %s", m.Config, want)
	}
	if err := json.Unmarshal(cfg, &c.config); err != nil {
		t.Fatal(err)
	}
	for _, l := range m.Layers {
		b, ok := data[l]
		if !ok {
			t.Fatalf("layer %s missing", l)
		}
		c.layers = append(c.layers, b)
	}
	return c
}

func TestWriteArchiveFilesLayer(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "hostbin")
	if err := os.WriteFile(host, []byte("#!binary"), 0o600); err != nil {
		t.Fatal(err)
	}
	img := Image{
		Ref: "localhost/test/img:1",
		Layers: []Layer{{Files: []File{
			RegularFile("/etc/passwd", 0o644, []byte("root:x:0:0::/:/bin/sh\n")),
			HostFile("/bin/tool", 0o755, host),
			Symlink("/bin/sh", "tool"),
			Dir("/tmp", 0o777|fs.ModeSticky),
			{Path: "/var/lib/data/", Type: TypeDir, Mode: 0o700, UID: 999, GID: 998},
		}}},
		Entrypoint: []string{"/bin/tool"},
		Cmd:        []string{"--flag"},
		Env:        []string{"PATH=/bin", "HOME=/tmp"},
		WorkingDir: "/tmp",
		User:       "0:0",
		StopSignal: "SIGINT",
	}
	dest := filepath.Join(dir, "out", "img.tar")
	if err := WriteArchive(dest, img); err != nil {
		t.Fatal(err)
	}
	c := openArchive(t, dest)

	if got := c.manifest[0].RepoTags; len(got) != 1 || got[0] != img.Ref {
		t.Errorf("RepoTags = %v", got)
	}
	cfg := c.config
	if cfg.OS != "linux" || cfg.Architecture == "" || cfg.RootFS.Type != "layers" {
		t.Errorf("config platform/rootfs = %q/%q/%q", cfg.OS, cfg.Architecture, cfg.RootFS.Type)
	}
	if strings.Join(cfg.Config.Entrypoint, " ") != "/bin/tool" || strings.Join(cfg.Config.Cmd, " ") != "--flag" ||
		strings.Join(cfg.Config.Env, ",") != "PATH=/bin,HOME=/tmp" || cfg.Config.WorkingDir != "/tmp" ||
		cfg.Config.User != "0:0" || cfg.Config.StopSignal != "SIGINT" {
		t.Errorf("container config = %+v", cfg.Config)
	}
	if len(c.layers) != 1 || len(cfg.RootFS.DiffIDs) != 1 {
		t.Fatalf("%d layers, %d diff_ids", len(c.layers), len(cfg.RootFS.DiffIDs))
	}
	sum := sha256.Sum256(c.layers[0])
	if want := "sha256:" + hex.EncodeToString(sum[:]); cfg.RootFS.DiffIDs[0] != want {
		t.Errorf("diff_id %s, layer digest %s", cfg.RootFS.DiffIDs[0], want)
	}
	if want := hex.EncodeToString(sum[:]) + "/layer.tar"; c.manifest[0].Layers[0] != want {
		t.Errorf("layer path %s, want %s", c.manifest[0].Layers[0], want)
	}

	hdrs, data, order := readTar(t, bytes.NewReader(c.layers[0]))
	wantOrder := []string{"bin/", "bin/sh", "bin/tool", "etc/", "etc/passwd", "tmp/", "var/", "var/lib/", "var/lib/data/"}
	if strings.Join(order, " ") != strings.Join(wantOrder, " ") {
		t.Errorf("layer entries = %v, want %v (parents added, sorted)", order, wantOrder)
	}
	check := func(name string, typ byte, mode int64) *tar.Header {
		t.Helper()
		h := hdrs[name]
		if h == nil {
			t.Fatalf("no entry %s", name)
		}
		if h.Typeflag != typ || h.Mode != mode {
			t.Errorf("%s: type %c mode %o, want %c %o", name, h.Typeflag, h.Mode, typ, mode)
		}
		if !h.ModTime.Equal(layerMtime) {
			t.Errorf("%s: mtime %s, want the fixed %s", name, h.ModTime, layerMtime)
		}
		return h
	}
	check("bin/", tar.TypeDir, 0o755)
	check("tmp/", tar.TypeDir, 0o1777)
	if h := check("var/lib/data/", tar.TypeDir, 0o700); h.Uid != 999 || h.Gid != 998 {
		t.Errorf("var/lib/data owner %d:%d", h.Uid, h.Gid)
	}
	check("bin/tool", tar.TypeReg, 0o755)
	if string(data["bin/tool"]) != "#!binary" {
		t.Errorf("bin/tool content %q", data["bin/tool"])
	}
	if string(data["etc/passwd"]) != "root:x:0:0::/:/bin/sh\n" {
		t.Errorf("etc/passwd content %q", data["etc/passwd"])
	}
	if h := check("bin/sh", tar.TypeSymlink, 0o777); h.Linkname != "tool" {
		t.Errorf("bin/sh -> %s", h.Linkname)
	}

	// No temporary files are left beside the archive.
	entries, _ := os.ReadDir(filepath.Dir(dest))
	if len(entries) != 1 {
		t.Errorf("output directory holds %d entries, want only the archive", len(entries))
	}
}

func TestWriteArchiveIsReproducible(t *testing.T) {
	dir := t.TempDir()
	img := Image{Ref: "localhost/test/img:1", Layers: []Layer{{Files: []File{
		RegularFile("/a", 0o644, []byte("a")), RegularFile("/b/c", 0o600, []byte("c")),
	}}}, Cmd: []string{"/a"}}
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	if err := WriteArchive(a, img); err != nil {
		t.Fatal(err)
	}
	// Same files listed in another order: the same image.
	img.Layers[0].Files[0], img.Layers[0].Files[1] = img.Layers[0].Files[1], img.Layers[0].Files[0]
	if err := WriteArchive(b, img); err != nil {
		t.Fatal(err)
	}
	da, _, _ := hashFile(a)
	db, _, _ := hashFile(b)
	if da != db {
		t.Error("two writes of the same image differ")
	}
}

func TestWriteArchiveTarLayerWithFilter(t *testing.T) {
	dir := t.TempDir()
	// A root filesystem tar as mmdebstrap writes it: "./" names, a root entry, device nodes,
	// a hard link and a PAX xattr.
	var raw bytes.Buffer
	tw := tar.NewWriter(&raw)
	add := func(h *tar.Header, content string) {
		h.Size = int64(len(content))
		h.Format = tar.FormatPAX
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	add(&tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "./dev/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "./dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}, "")
	add(&tar.Header{Name: "./usr/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "./usr/bin/", Typeflag: tar.TypeDir, Mode: 0o755}, "")
	add(&tar.Header{Name: "./usr/bin/perl", Typeflag: tar.TypeReg, Mode: 0o755,
		PAXRecords: map[string]string{"SCHILY.xattr.user.test": "v"}}, "perl!")
	add(&tar.Header{Name: "./usr/bin/perl5", Typeflag: tar.TypeLink, Linkname: "./usr/bin/perl", Mode: 0o755}, "")
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "rootfs.tar")
	if err := os.WriteFile(rootfs, raw.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	dest := filepath.Join(dir, "img.tar")
	err := WriteArchive(dest, Image{Ref: "localhost/test/db:1", Layers: []Layer{
		{TarPath: rootfs, Filter: rootfsEntry},
		{TarPath: rootfs}, // used byte for byte
		{Files: []File{RegularFile("/usr/local/bin/entry.sh", 0o755, []byte("#!/bin/sh\n"))}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	c := openArchive(t, dest)
	if len(c.layers) != 3 || len(c.config.RootFS.DiffIDs) != 3 {
		t.Fatalf("%d layers, %d diff_ids", len(c.layers), len(c.config.RootFS.DiffIDs))
	}
	for i, l := range c.layers {
		sum := sha256.Sum256(l)
		if got, want := c.config.RootFS.DiffIDs[i], "sha256:"+hex.EncodeToString(sum[:]); got != want {
			t.Errorf("layer %d: diff_id %s, content digest %s", i, got, want)
		}
	}
	if !bytes.Equal(c.layers[1], raw.Bytes()) {
		t.Error("an unfiltered tar layer was not copied as is")
	}
	hdrs, data, order := readTar(t, bytes.NewReader(c.layers[0]))
	if want := "dev/ usr/ usr/bin/ usr/bin/perl usr/bin/perl5"; strings.Join(order, " ") != want {
		t.Errorf("filtered entries = %v, want %s", order, want)
	}
	if string(data["usr/bin/perl"]) != "perl!" {
		t.Errorf("content lost: %q", data["usr/bin/perl"])
	}
	if h := hdrs["usr/bin/perl5"]; h.Typeflag != tar.TypeLink || h.Linkname != "usr/bin/perl" {
		t.Errorf("hard link = %c %s", h.Typeflag, h.Linkname)
	}
	if v := hdrs["usr/bin/perl"].PAXRecords["SCHILY.xattr.user.test"]; v != "v" {
		t.Errorf("xattr lost: %q", v)
	}
	if _, _, order := readTar(t, bytes.NewReader(c.layers[2])); strings.Join(order, " ") != "usr/ usr/local/ usr/local/bin/ usr/local/bin/entry.sh" {
		t.Errorf("entrypoint layer = %v", order)
	}
}

func TestWriteArchiveErrorsLeaveNothing(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "img.tar")
	cases := map[string]Image{
		"no ref":           {Layers: []Layer{{Files: []File{RegularFile("/a", 0o644, nil)}}}},
		"duplicate":        {Ref: "x", Layers: []Layer{{Files: []File{RegularFile("/a", 0o644, nil), RegularFile("a", 0o644, nil)}}}},
		"file as parent":   {Ref: "x", Layers: []Layer{{Files: []File{RegularFile("/a", 0o644, nil), RegularFile("/a/b", 0o644, nil)}}}},
		"missing source":   {Ref: "x", Layers: []Layer{{Files: []File{HostFile("/a", 0o644, filepath.Join(dir, "nope"))}}}},
		"missing tar":      {Ref: "x", Layers: []Layer{{TarPath: filepath.Join(dir, "nope.tar")}}},
		"both kinds":       {Ref: "x", Layers: []Layer{{TarPath: "/x.tar", Files: []File{RegularFile("/a", 0o644, nil)}}}},
		"root path":        {Ref: "x", Layers: []Layer{{Files: []File{Dir("/", 0o755)}}}},
		"filter, bad tar":  {Ref: "x", Layers: []Layer{{TarPath: writeGarbage(t, dir), Filter: rootfsEntry}}},
		"dir source given": {Ref: "x", Layers: []Layer{{Files: []File{HostFile("/a", 0o644, dir)}}}},
	}
	for name, img := range cases {
		if err := WriteArchive(dest, img); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "garbage.tar" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func writeGarbage(t *testing.T, dir string) string {
	p := filepath.Join(dir, "garbage.tar")
	if err := os.WriteFile(p, bytes.Repeat([]byte("not a tar "), 100), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCacheKey(t *testing.T) {
	if cacheKey("a", "b") == cacheKey("ab") || cacheKey("a", "b") == cacheKey("a", "c") {
		t.Error("different inputs give the same key")
	}
	if k := cacheKey("a"); len(k) != 16 || k != cacheKey("a") {
		t.Errorf("key %q is not a stable 16-digit hex string", k)
	}
}

func TestCachedReusesAndPrunes(t *testing.T) {
	dir := t.TempDir()
	b := &Builder{CacheDir: dir, Log: io.Discard}
	builds := 0
	build := func(dest string) error {
		builds++
		return os.WriteFile(dest, []byte("x"), 0o644)
	}
	k1, k2 := cacheKey("one"), cacheKey("two")
	p1, err := b.cached("", "thing", k1, "image", build)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := b.cached("", "thing", k1, "image", build); again != p1 || builds != 1 {
		t.Errorf("unchanged inputs rebuilt (%d builds)", builds)
	}
	other, _ := b.cached("", "thing-else", k1, "image", build) // another image is not pruned
	p2, _ := b.cached("", "thing", k2, "image", build)
	if builds != 3 || p2 == p1 {
		t.Errorf("changed inputs did not rebuild: %d builds", builds)
	}
	if _, err := os.Stat(p1); !os.IsNotExist(err) {
		t.Error("the outdated tarball was kept")
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another image's tarball was pruned: %v", err)
	}
}
