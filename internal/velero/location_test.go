package velero

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/styrmin/terraform-provider-styrmin/internal/kubetest"
	"github.com/styrmin/terraform-provider-styrmin/internal/objectstore"
)

func TestLocationsCreateReadUpdateDelete(t *testing.T) {
	ctx := context.Background()

	t.Run("Create writes the Secret and the BSL, and Read gives the location back", func(t *testing.T) {
		l, _, _ := newFakeLocations(t)
		want := fullLocation("primary")
		if err := l.Create(ctx, want); err != nil {
			t.Fatal(err)
		}
		got, status, err := l.Read(ctx, "primary")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("Read after Create (-want +got):\n%s", diff)
		}
		if status.Phase != "" || !status.Default {
			t.Errorf("status = %+v, want no phase yet and the default flag", status)
		}

		secret := getSecret(t, l, CredentialSecretName("primary"))
		if secret.Labels[ManagedByLabel] != "terraform-provider-styrmin" {
			t.Errorf("secret labels = %v", secret.Labels)
		}
		if got := string(secret.Data["cloud"]); got != "[default]\naws_access_key_id=AKID\naws_secret_access_key=SECRET\n" {
			t.Errorf("secret cloud = %q", got)
		}
		bsl := getBSL(t, l, "primary")
		wantConfig := map[string]string{"region": "eu-west-1", "s3Url": "https://s3.example.com", "s3ForcePathStyle": "true", "checksumAlgorithm": ""}
		if diff := cmp.Diff(wantConfig, bsl.Spec.Config); diff != "" {
			t.Errorf("BSL config (-want +got):\n%s", diff)
		}
		if bsl.Spec.Provider != "aws" || bsl.Labels[ManagedByLabel] != "terraform-provider-styrmin" ||
			bsl.Spec.Credential.Name != "styrmin-bsl-primary" || bsl.Spec.Credential.Key != "cloud" ||
			bsl.Spec.ObjectStorage.CACertRef.Name != "styrmin-bsl-primary" || bsl.Spec.ObjectStorage.CACertRef.Key != "ca.crt" {
			t.Errorf("BSL = %+v", bsl)
		}
	})

	t.Run("Create reuses a Secret this provider left behind without a BSL", func(t *testing.T) {
		l, _, _ := newFakeLocations(t)
		createSecret(t, l, CredentialSecretName("primary"), map[string]string{ManagedByLabel: "terraform-provider-styrmin"}, "stale")
		loc := fullLocation("primary")
		if err := l.Create(ctx, loc); err != nil {
			t.Fatal(err)
		}
		got, _, err := l.Read(ctx, "primary")
		if err != nil || got.AccessKeyID != "AKID" || got.SecretAccessKey != "SECRET" {
			t.Errorf("Read = %+v, %v; want the new credentials", got, err)
		}
	})

	t.Run("Create keeps a reused Secret when the BSL cannot be created", func(t *testing.T) {
		l, _, dyn := newFakeLocations(t)
		createSecret(t, l, CredentialSecretName("primary"), map[string]string{ManagedByLabel: "terraform-provider-styrmin"}, "stale")
		forbidBSLCreate(dyn)
		err := l.Create(ctx, fullLocation("primary"))
		kubetest.ErrorContains(t, err, "create BackupStorageLocation primary:", "RBAC says no")
		// Not made by this call, so not this call's to remove.
		getSecret(t, l, CredentialSecretName("primary"))
	})

	for _, tt := range []struct {
		name string
		// bslManagedBy is the existing BSL's managed-by label; secretManagedBy, when set, adds
		// the credential Secret with that label.
		bslManagedBy, secretManagedBy string
		want                          string
	}{
		{
			name:         "made by this provider from another Terraform state",
			bslManagedBy: ManagedBy, secretManagedBy: ManagedBy,
			want: `backup storage location "primary" already exists in namespace velero (made by this provider); nothing was changed. ` +
				`If it is the one this resource should manage (made by another Terraform state, one that was lost, or velero install), ` +
				`import it: terraform import styrmin_backup_location.<resource> velero/primary. Otherwise choose another name.`,
		},
		{
			name: "made by velero install, without a Secret of the provider's name",
			want: `backup storage location "primary" already exists in namespace velero (not made by this provider); nothing was changed.`,
		},
		{
			name:         "managed by another tool",
			bslManagedBy: "Helm", secretManagedBy: "Helm",
			want: `backup storage location "primary" already exists in namespace velero (managed by Helm); nothing was changed.`,
		},
	} {
		t.Run("Create refuses a name whose BSL exists, changing nothing: "+tt.name, func(t *testing.T) {
			l, kube, dyn := newFakeLocations(t)
			existing := &velerov1.BackupStorageLocation{
				ObjectMeta: metav1.ObjectMeta{Name: "primary"},
				Spec: velerov1.BackupStorageLocationSpec{Provider: "aws",
					StorageType: velerov1.StorageType{ObjectStorage: &velerov1.ObjectStorageLocation{Bucket: "theirs"}}},
			}
			if tt.bslManagedBy != "" {
				existing.Labels = map[string]string{ManagedByLabel: tt.bslManagedBy}
			}
			if _, err := Create(ctx, l.Velero, existing); err != nil {
				t.Fatal(err)
			}
			if tt.secretManagedBy != "" {
				createSecret(t, l, CredentialSecretName("primary"), map[string]string{ManagedByLabel: tt.secretManagedBy}, "theirs")
			}
			kube.ClearActions()
			dyn.ClearActions()

			// The plan's check says so first, reading only.
			if err := l.CheckName(ctx, "primary"); !errors.As(err, new(*NameTakenError)) {
				t.Errorf("CheckName = %v, want a *NameTakenError", err)
			}
			if err := l.CheckName(ctx, "free"); err != nil {
				t.Errorf("CheckName of a free name = %v", err)
			}
			err := l.Create(ctx, fullLocation("primary"))
			var taken *NameTakenError
			if !errors.As(err, &taken) || taken.Name != "primary" || taken.Secret != "" || taken.ManagedBy != tt.bslManagedBy {
				t.Fatalf("Create = %#v, want a *NameTakenError for the BSL", err)
			}
			kubetest.ErrorContains(t, err, tt.want, "terraform import styrmin_backup_location.<resource> velero/primary")
			assertNoWrites(t, kube, dyn)
			if tt.secretManagedBy != "" && string(getSecret(t, l, CredentialSecretName("primary")).Data["cloud"]) != "theirs" {
				t.Error("the existing location's Secret was changed")
			}
		})
	}

	t.Run("Create refuses a Secret of the same name made by someone else, changing nothing", func(t *testing.T) {
		l, kube, dyn := newFakeLocations(t)
		createSecret(t, l, CredentialSecretName("primary"), nil, "theirs")
		kube.ClearActions()
		err := l.Create(ctx, fullLocation("primary"))
		var taken *NameTakenError
		if !errors.As(err, &taken) || taken.Secret != "styrmin-bsl-primary" {
			t.Fatalf("Create = %#v, want a *NameTakenError for the Secret", err)
		}
		kubetest.ErrorContains(t, err, `Secret "styrmin-bsl-primary", where location "primary" would keep its credentials, already exists in namespace velero `+
			`(not made by this provider); nothing was changed. Choose another name, or remove that Secret if nothing uses it.`)
		assertNoWrites(t, kube, dyn)
	})

	t.Run("Create refuses a BSL made while it ran, removing the Secret it made", func(t *testing.T) {
		l, _, dyn := newFakeLocations(t)
		dyn.PrependReactor("create", "backupstoragelocations", func(k8stesting.Action) (bool, runtime.Object, error) {
			// Another writer wins the race between the check and the create.
			theirs := &velerov1.BackupStorageLocation{ObjectMeta: metav1.ObjectMeta{Name: "primary", Namespace: testNamespace}}
			if err := dyn.Tracker().Add(asUnstructured(t, theirs)); err != nil {
				t.Error(err)
			}
			return true, nil, apierrors.NewAlreadyExists(schema.GroupResource{Group: "velero.io", Resource: "backupstoragelocations"}, "primary")
		})
		err := l.Create(ctx, fullLocation("primary"))
		var taken *NameTakenError
		if !errors.As(err, &taken) || taken.Secret != "" {
			t.Fatalf("Create = %#v, want a *NameTakenError for the BSL", err)
		}
		if _, err := l.Kube.CoreV1().Secrets(testNamespace).Get(ctx, CredentialSecretName("primary"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the Secret this Create made was left behind: %v", err)
		}
	})

	t.Run("Create removes the Secret again when the BSL cannot be created", func(t *testing.T) {
		l, _, dyn := newFakeLocations(t)
		forbidBSLCreate(dyn)
		err := l.Create(ctx, fullLocation("primary"))
		kubetest.ErrorContains(t, err, "create BackupStorageLocation primary:", "RBAC says no")
		if _, err := l.Kube.CoreV1().Secrets(testNamespace).Get(ctx, CredentialSecretName("primary"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("the Secret was left behind: %v", err)
		}
	})

	t.Run("Update rewrites Secret and spec, keeping what others added, and clears the status", func(t *testing.T) {
		l, _, _ := newFakeLocations(t)
		if err := l.Create(ctx, fullLocation("primary")); err != nil {
			t.Fatal(err)
		}
		// An operator adds a config key, a label and an annotation; Velero validates it.
		bsl := getBSL(t, l, "primary")
		bsl.Spec.Config["kmsKeyId"] = "alias/backups"
		bsl.Labels["team"] = "ops"
		bsl.Annotations = map[string]string{"note": "keep"}
		bsl.Status = velerov1.BackupStorageLocationStatus{Phase: velerov1.BackupStorageLocationPhaseAvailable, LastValidationTime: &metav1.Time{Time: time.Now()}}
		if _, err := Update(ctx, l.Velero, bsl); err != nil {
			t.Fatal(err)
		}

		changed := fullLocation("primary")
		changed.Bucket, changed.AccessKeyID, changed.SecretAccessKey = "other-bucket", "AKID2", "SECRET2"
		changed.ChecksumAlgorithm, changed.ForcePathStyle, changed.CACert = nil, false, ""
		if err := l.Update(ctx, changed); err != nil {
			t.Fatal(err)
		}
		got, status, err := l.Read(ctx, "primary")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(&changed, got); diff != "" {
			t.Errorf("Read after Update (-want +got):\n%s", diff)
		}
		if status.Phase != "" || status.LastValidationTime != nil {
			t.Errorf("status = %+v, want it cleared so Velero validates the new settings at once", status)
		}
		bsl = getBSL(t, l, "primary")
		if bsl.Spec.Config["kmsKeyId"] != "alias/backups" || bsl.Labels["team"] != "ops" || bsl.Annotations["note"] != "keep" {
			t.Errorf("what the operator added is lost: config %v labels %v annotations %v", bsl.Spec.Config, bsl.Labels, bsl.Annotations)
		}
		if _, ok := bsl.Spec.Config["checksumAlgorithm"]; ok || bsl.Spec.ObjectStorage.CACertRef != nil {
			t.Errorf("unset settings are still in the spec: config %v caCertRef %v", bsl.Spec.Config, bsl.Spec.ObjectStorage.CACertRef)
		}
	})

	t.Run("Update re-creates a missing Secret", func(t *testing.T) {
		l, _, _ := newFakeLocations(t)
		if err := l.Create(ctx, fullLocation("primary")); err != nil {
			t.Fatal(err)
		}
		if err := l.Kube.CoreV1().Secrets(testNamespace).Delete(ctx, CredentialSecretName("primary"), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := l.Update(ctx, fullLocation("primary")); err != nil {
			t.Fatal(err)
		}
		secret := getSecret(t, l, CredentialSecretName("primary"))
		if secret.Labels[ManagedByLabel] != "terraform-provider-styrmin" || len(secret.Data["cloud"]) == 0 {
			t.Errorf("re-created secret = %+v", secret)
		}
	})

	t.Run("Update of a missing BSL fails naming it, writing no Secret", func(t *testing.T) {
		l, kube, dyn := newFakeLocations(t)
		err := l.Update(ctx, fullLocation("primary"))
		kubetest.ErrorContains(t, err, "read backup storage location primary:", "not found")
		assertNoWrites(t, kube, dyn)
	})

	t.Run("Read of a missing BSL is ErrNotFound", func(t *testing.T) {
		l, _, _ := newFakeLocations(t)
		if _, _, err := l.Read(ctx, "primary"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Read = %v, want ErrNotFound", err)
		}
	})

	t.Run("Read of a location whose Secret is gone shows empty credentials", func(t *testing.T) {
		l, _, _ := newFakeLocations(t)
		if err := l.Create(ctx, fullLocation("primary")); err != nil {
			t.Fatal(err)
		}
		if err := l.Kube.CoreV1().Secrets(testNamespace).Delete(ctx, CredentialSecretName("primary"), metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		got, _, err := l.Read(ctx, "primary")
		if err != nil || got.AccessKeyID != "" || got.SecretAccessKey != "" || got.CACert != "" || got.Bucket != "backups" {
			t.Errorf("Read = %+v, %v; want the spec with empty credentials (drift)", got, err)
		}
	})

	t.Run("Read of a BSL without a credential of its own reads no key: the server's stays out of state", func(t *testing.T) {
		l, _, _ := newFakeLocations(t)
		createInstallLocation(t, l)
		got, _, err := l.Read(ctx, "default")
		if err != nil || got.AccessKeyID != "" || got.SecretAccessKey != "" || got.AccessMode != "ReadWrite" {
			t.Errorf("Read = %+v, %v; want the location without the server's key", got, err)
		}
		// Reading the location's bucket as Velero does uses the server's key.
		server, _, err := l.read(ctx, "default", true)
		if err != nil || server.AccessKeyID != "SERVER" || server.SecretAccessKey != "SERVERSECRET" {
			t.Errorf("read with the server's key = %+v, %v", server, err)
		}
	})

	t.Run("Delete removes the BSL and its Secret, and a second Delete is fine", func(t *testing.T) {
		l, _, _ := newFakeLocations(t)
		if err := l.Create(ctx, fullLocation("primary")); err != nil {
			t.Fatal(err)
		}
		if err := l.Delete(ctx, "primary"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := l.Read(ctx, "primary"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Read after Delete = %v, want ErrNotFound", err)
		}
		if _, err := l.Kube.CoreV1().Secrets(testNamespace).Get(ctx, CredentialSecretName("primary"), metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("Secret after Delete: %v, want NotFound", err)
		}
		if err := l.Delete(ctx, "primary"); err != nil {
			t.Errorf("second Delete = %v", err)
		}
	})
}

func TestLocationsSnapshot(t *testing.T) {
	ctx := context.Background()
	// setUp creates three locations without a snapshot, then starts counting requests.
	setUp := func(t *testing.T) (Locations, *kubefake.Clientset, *dynamicfake.FakeDynamicClient) {
		l, kube, dyn := newFakeLocations(t)
		direct := l
		direct.Snapshot = nil
		for _, name := range []string{"a", "b", "c"} {
			if err := direct.Create(ctx, fullLocation(name)); err != nil {
				t.Fatal(err)
			}
		}
		kube.ClearActions()
		dyn.ClearActions()
		return l, kube, dyn
	}
	readKey := func(t *testing.T, l Locations, name string) string {
		t.Helper()
		loc, _, err := l.Read(ctx, name)
		if err != nil {
			t.Fatalf("Read %s: %v", name, err)
		}
		return loc.AccessKeyID
	}

	t.Run("several reads cost one list of BSLs and one of Secrets", func(t *testing.T) {
		l, kube, dyn := setUp(t)
		for _, name := range []string{"a", "b", "c", "a"} {
			if got := readKey(t, l, name); got != "AKID" {
				t.Errorf("Read %s: key %q", name, got)
			}
		}
		counts := map[string]int{
			"list BSLs": kubetest.CountActions(dyn, "list", "backupstoragelocations"), "get BSLs": kubetest.CountActions(dyn, "get", "backupstoragelocations"),
			"list Secrets": kubetest.CountActions(kube, "list", "secrets"), "get Secrets": kubetest.CountActions(kube, "get", "secrets"),
		}
		if diff := cmp.Diff(map[string]int{"list BSLs": 1, "get BSLs": 0, "list Secrets": 1, "get Secrets": 0}, counts); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
	})

	t.Run("a change made elsewhere is seen only after Invalidate", func(t *testing.T) {
		l, _, _ := setUp(t)
		readKey(t, l, "a")
		setSecretData(t, l, "a", awsCredentials("ROTATED", "S"))
		if got := readKey(t, l, "a"); got != "AKID" {
			t.Errorf("before Invalidate: key %q, want the snapshot's AKID", got)
		}
		l.Snapshot.Invalidate()
		if got := readKey(t, l, "a"); got != "ROTATED" {
			t.Errorf("after Invalidate: key %q, want ROTATED", got)
		}
	})

	t.Run("a write through the same Locations invalidates it", func(t *testing.T) {
		l, _, dyn := setUp(t)
		readKey(t, l, "a")
		changed := fullLocation("a")
		changed.AccessKeyID = "NEW"
		if err := l.Update(ctx, changed); err != nil {
			t.Fatal(err)
		}
		if got := readKey(t, l, "a"); got != "NEW" {
			t.Errorf("after Update: key %q, want NEW", got)
		}
		if err := l.Delete(ctx, "b"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := l.Read(ctx, "b"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Read after Delete = %v, want ErrNotFound", err)
		}
		if n := kubetest.CountActions(dyn, "list", "backupstoragelocations"); n != 3 {
			t.Errorf("%d lists of BSLs, want 3 (one per snapshot)", n)
		}
	})

	t.Run("a location missing from the snapshot is read directly", func(t *testing.T) {
		l, _, dyn := setUp(t)
		readKey(t, l, "a")
		other := l
		other.Snapshot = nil // another process
		if err := other.Create(ctx, fullLocation("d")); err != nil {
			t.Fatal(err)
		}
		if got := readKey(t, l, "d"); got != "AKID" {
			t.Errorf("Read d: key %q", got)
		}
		if _, _, err := l.Read(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Read nope = %v, want ErrNotFound", err)
		}
		if n := kubetest.CountActions(dyn, "list", "backupstoragelocations"); n != 1 {
			t.Errorf("%d lists of BSLs, want 1: a miss is a get, not a new list", n)
		}
	})

	t.Run("a Secret without the provider's label is read directly", func(t *testing.T) {
		l, kube, _ := setUp(t)
		secret := getSecret(t, l, CredentialSecretName("a"))
		delete(secret.Labels, ManagedByLabel)
		if _, err := l.Kube.CoreV1().Secrets(testNamespace).Update(ctx, secret, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		kube.ClearActions()
		if got := readKey(t, l, "a"); got != "AKID" {
			t.Errorf("Read a: key %q", got)
		}
		if n := kubetest.CountActions(kube, "get", "secrets"); n != 1 {
			t.Errorf("%d gets of Secrets, want 1", n)
		}
	})

	t.Run("a snapshot older than its maximum age is taken again", func(t *testing.T) {
		l, _, _ := setUp(t)
		readKey(t, l, "a")
		setSecretData(t, l, "a", awsCredentials("ROTATED", "S"))
		age(l.Snapshot, snapshotMaxAge+time.Second)
		if got := readKey(t, l, "a"); got != "ROTATED" {
			t.Errorf("key %q, want ROTATED from a new snapshot", got)
		}
	})
}

func TestWaitAvailable(t *testing.T) {
	ctx := context.Background()
	since := time.Date(2026, 5, 1, 12, 0, 0, 700_000_000, time.UTC)
	validated := func(phase velerov1.BackupStorageLocationPhase, at time.Time, message string) *velerov1.BackupStorageLocation {
		return &velerov1.BackupStorageLocation{
			ObjectMeta: metav1.ObjectMeta{Name: "primary", Namespace: testNamespace},
			Status:     velerov1.BackupStorageLocationStatus{Phase: phase, Message: message, LastValidationTime: &metav1.Time{Time: at}},
		}
	}

	t.Run("Unavailable is an UnavailableError with Velero's message", func(t *testing.T) {
		c, _ := newFakeClient(t, validated(velerov1.BackupStorageLocationPhaseUnavailable, since.Add(time.Second), "NoSuchBucket: the bucket does not exist"))
		status, err := Locations{Velero: c}.WaitAvailable(ctx, "primary", since)
		var unavailable *UnavailableError
		if !errors.As(err, &unavailable) {
			t.Fatalf("WaitAvailable = %v, want *UnavailableError", err)
		}
		kubetest.ErrorContains(t, err, `Velero reports backup storage location "primary" Unavailable: NoSuchBucket: the bucket does not exist`)
		if status == nil || status.Phase != "Unavailable" {
			t.Errorf("status = %+v", status)
		}
	})

	// metav1.Time keeps whole seconds: a validation in the same second as since must count.
	t.Run("a validation in the second of since counts", func(t *testing.T) {
		c, _ := newFakeClient(t, validated(velerov1.BackupStorageLocationPhaseAvailable, since.Truncate(time.Second), ""))
		status, err := Locations{Velero: c}.WaitAvailable(ctx, "primary", since)
		if err != nil || status.Phase != "Available" {
			t.Errorf("WaitAvailable = %+v, %v", status, err)
		}
	})

	t.Run("an Available from before since does not count; the next validation does", func(t *testing.T) {
		c, dyn := newFakeClient(t, validated(velerov1.BackupStorageLocationPhaseAvailable, since.Add(-time.Minute), ""))
		watches := serveWatches(dyn, "backupstoragelocations")
		result := make(chan error, 1)
		go func() {
			_, err := Locations{Velero: c}.WaitAvailable(ctx, "primary", since)
			result <- err
		}()
		nextWatch(t, watches).Modify(asUnstructured(t, validated(velerov1.BackupStorageLocationPhaseAvailable, since.Add(2*time.Second), "")))
		select {
		case err := <-result:
			if err != nil {
				t.Errorf("WaitAvailable = %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("WaitAvailable did not return")
		}
	})
}

// --- helpers ---

func newFakeLocations(t *testing.T) (Locations, *kubefake.Clientset, *dynamicfake.FakeDynamicClient) {
	t.Helper()
	c, dyn := newFakeClient(t)
	kube := kubefake.NewClientset()
	return Locations{Kube: kube, Velero: c, Snapshot: &Snapshot{}}, kube, dyn
}

// createInstallLocation makes what `velero install` makes: the server's key in
// DefaultCredentialsSecret, and BSL "default" without a credential of its own.
func createInstallLocation(t *testing.T, l Locations) {
	t.Helper()
	createSecret(t, l, DefaultCredentialsSecret, nil, "[default]\naws_access_key_id=SERVER\naws_secret_access_key=SERVERSECRET\n")
	if _, err := Create(context.Background(), l.Velero, &velerov1.BackupStorageLocation{
		ObjectMeta: metav1.ObjectMeta{Name: "default"},
		Spec: velerov1.BackupStorageLocationSpec{Provider: "aws", Config: map[string]string{"region": "minio"},
			StorageType: velerov1.StorageType{ObjectStorage: &velerov1.ObjectStorageLocation{Bucket: "velero"}}},
	}); err != nil {
		t.Fatal(err)
	}
}

// fullLocation sets every field, so a round trip that drops one shows.
func TestLocationObjectStore(t *testing.T) {
	loc := fullLocation("primary")
	checksum := "SHA256"
	loc.ChecksumAlgorithm = &checksum
	want := objectstore.Location{
		Endpoint: "https://s3.example.com", Region: "eu-west-1", Bucket: "backups", Prefix: "env/a",
		ForcePathStyle: true, CACertPEM: []byte(loc.CACert), AccessKeyID: "AKID", SecretAccessKey: "SECRET",
		ChecksumAlgorithm: "SHA256",
	}
	if diff := cmp.Diff(want, loc.ObjectStore()); diff != "" {
		t.Errorf("ObjectStore (-want +got):\n%s", diff)
	}
	loc.ChecksumAlgorithm = nil
	if got := loc.ObjectStore().ChecksumAlgorithm; got != "" {
		t.Errorf("without a checksum algorithm, ObjectStore has %q, want \"\"", got)
	}
}

func fullLocation(name string) Location {
	checksum := ""
	syncPeriod, validation := time.Minute, 2*time.Minute
	return Location{
		Name: name, Bucket: "backups", Prefix: "env/a", Region: "eu-west-1", Endpoint: "https://s3.example.com",
		ForcePathStyle: true, ChecksumAlgorithm: &checksum, CACert: "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n",
		AccessKeyID: "AKID", SecretAccessKey: "SECRET", Default: true, AccessMode: "ReadWrite",
		BackupSyncPeriod: &syncPeriod, ValidationFrequency: &validation,
	}
}

// forbidBSLCreate makes the API server refuse to create any BSL.
func forbidBSLCreate(dyn *dynamicfake.FakeDynamicClient) {
	dyn.PrependReactor("create", "backupstoragelocations", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "velero.io", Resource: "backupstoragelocations"}, "primary", errors.New("RBAC says no"))
	})
}

// assertNoWrites checks that neither fake cluster received a create, update, patch or delete.
func assertNoWrites(t *testing.T, clients ...kubetest.Recorder) {
	t.Helper()
	for _, client := range clients {
		for _, a := range client.Actions() {
			switch a.GetVerb() {
			case "create", "update", "patch", "delete":
				t.Errorf("unexpected %s of %s", a.GetVerb(), a.GetResource().Resource)
			}
		}
	}
}

func createSecret(t *testing.T, l Locations, name string, labels map[string]string, cloud string) {
	t.Helper()
	_, err := l.Kube.CoreV1().Secrets(testNamespace).Create(context.Background(), &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: testNamespace, Labels: labels},
		Data:       map[string][]byte{"cloud": []byte(cloud)},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func setSecretData(t *testing.T, l Locations, location, cloud string) {
	t.Helper()
	secret := getSecret(t, l, CredentialSecretName(location))
	secret.Data["cloud"] = []byte(cloud)
	if _, err := l.Kube.CoreV1().Secrets(testNamespace).Update(context.Background(), secret, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func getSecret(t *testing.T, l Locations, name string) *corev1.Secret {
	t.Helper()
	secret, err := l.Kube.CoreV1().Secrets(testNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return secret
}

func getBSL(t *testing.T, l Locations, name string) *velerov1.BackupStorageLocation {
	t.Helper()
	bsl, err := Get[velerov1.BackupStorageLocation](context.Background(), l.Velero, name)
	if err != nil {
		t.Fatal(err)
	}
	return bsl
}
