package velero

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	velerov1 "github.com/vmware-tanzu/velero/pkg/apis/velero/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/styrmin/terraform-provider-styrmin/internal/objectstore"
)

// Location is a backup storage location as the provider manages it: one Velero BSL (provider
// "aws", any S3-compatible store) and the Secret holding its credentials.
type Location struct {
	Name   string
	Bucket string
	Prefix string
	Region string
	// Endpoint is the S3 URL (s3Url); empty means AWS itself.
	Endpoint       string
	ForcePathStyle bool
	// ChecksumAlgorithm nil leaves the aws plugin's default (CRC32); "" disables checksums,
	// which most non-AWS stores need.
	ChecksumAlgorithm *string
	// CACert is a PEM bundle stored in the credential Secret and referenced by caCertRef.
	CACert              string
	AccessKeyID         string
	SecretAccessKey     string
	Default             bool
	AccessMode          string
	BackupSyncPeriod    *time.Duration
	ValidationFrequency *time.Duration
}

// ObjectStore is the location as the object-store client takes it. A nil ChecksumAlgorithm
// (the aws plugin's default) becomes "": checksums only where an operation requires them.
func (l Location) ObjectStore() objectstore.Location {
	store := objectstore.Location{
		Endpoint:        l.Endpoint,
		Region:          l.Region,
		Bucket:          l.Bucket,
		Prefix:          l.Prefix,
		ForcePathStyle:  l.ForcePathStyle,
		CACertPEM:       []byte(l.CACert),
		AccessKeyID:     l.AccessKeyID,
		SecretAccessKey: l.SecretAccessKey,
	}
	if l.ChecksumAlgorithm != nil {
		store.ChecksumAlgorithm = *l.ChecksumAlgorithm
	}
	return store
}

// LocationStatus is what Velero reports about a location.
type LocationStatus struct {
	Phase              string
	Message            string
	LastValidationTime *time.Time
	// Default is spec.default as the cluster holds it: the server forces it on the location named
	// by --default-backup-storage-location and clears it on others when two claim it.
	Default bool
}

// Credential Secret layout: the AWS ini file under "cloud" (the aws plugin's convention) and the
// CA bundle under "ca.crt".
const (
	credentialsKey = "cloud"
	caCertKey      = "ca.crt"
	// ManagedByLabel, with the value ManagedBy, marks what this provider created (locations,
	// their Secrets, backups, restores), so an operator can tell it apart and the provider
	// recognises what it may adopt or overwrite.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedBy      = "terraform-provider-styrmin"
)

// DefaultCredentialsSecret is where `velero install` keeps the server's own credentials.
const DefaultCredentialsSecret = "cloud-credentials"

// CredentialSecretName is the name of the Secret that holds a location's credentials.
func CredentialSecretName(location string) string { return "styrmin-bsl-" + location }

// Locations creates, reads, updates and deletes locations in Velero's namespace.
type Locations struct {
	Kube   kubernetes.Interface
	Velero *Client
	// Snapshot, when set, serves Read from one list of every BSL and credential Secret (shared
	// by all reads of one provider process); writes through these Locations invalidate it.
	Snapshot *Snapshot
}

// ErrNotFound reports a location whose BSL does not exist.
var ErrNotFound = errors.New("not found")

// NameTakenError is a Create refused because the location's name is in use: a BSL of that name
// exists (another Terraform state, a lost one, `velero install`), or a Secret this provider did
// not make holds the name of its credential Secret. Create changed nothing.
type NameTakenError struct {
	Namespace string
	// Name is the location's name.
	Name string
	// Secret is the name of the Secret that holds the name when no BSL does.
	Secret string
	// ManagedBy is the existing object's ManagedByLabel, "" without one.
	ManagedBy string
}

func (e *NameTakenError) Error() string {
	var owner string
	switch e.ManagedBy {
	case ManagedBy:
		owner = "made by this provider"
	case "":
		owner = "not made by this provider"
	default:
		owner = "managed by " + e.ManagedBy
	}
	if e.Secret != "" {
		return fmt.Sprintf("Secret %q, where location %q would keep its credentials, already exists in namespace %s (%s); nothing was changed. "+
			"Choose another name, or remove that Secret if nothing uses it.", e.Secret, e.Name, e.Namespace, owner)
	}
	return fmt.Sprintf("backup storage location %q already exists in namespace %s (%s); nothing was changed. "+
		"If it is the one this resource should manage (made by another Terraform state, one that was lost, or velero install), "+
		"import it: terraform import styrmin_backup_location.<resource> %s/%s. Otherwise choose another name.",
		e.Name, e.Namespace, owner, e.Namespace, e.Name)
}

// Create creates the credential Secret, then the BSL. A name in use is refused before anything
// is written (NameTakenError). If the BSL cannot be created, a Secret this call made is removed
// again: nothing is left half-created.
func (l Locations) Create(ctx context.Context, loc Location) error {
	defer l.Snapshot.Invalidate()
	leftover, err := l.claimName(ctx, loc.Name)
	if err != nil {
		return err
	}
	secret := credentialSecret(l.Velero.Namespace, loc)
	secrets := l.Kube.CoreV1().Secrets(l.Velero.Namespace)
	if leftover != nil {
		leftover.Data, leftover.StringData = secret.Data, nil
		_, err = secrets.Update(ctx, leftover, metav1.UpdateOptions{})
	} else {
		_, err = secrets.Create(ctx, secret, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			return l.nameTakenMeanwhile(ctx, &NameTakenError{Namespace: l.Velero.Namespace, Name: loc.Name, Secret: secret.Name, ManagedBy: ManagedBy})
		}
	}
	if err != nil {
		return fmt.Errorf("write credential secret %s/%s: %w", secret.Namespace, secret.Name, err)
	}
	bsl := &velerov1.BackupStorageLocation{ObjectMeta: metav1.ObjectMeta{
		Name: loc.Name, Namespace: l.Velero.Namespace, Labels: map[string]string{ManagedByLabel: ManagedBy},
	}}
	setSpec(bsl, loc)
	_, err = Create(ctx, l.Velero, bsl)
	if apierrors.IsAlreadyExists(err) {
		err = l.nameTakenMeanwhile(ctx, &NameTakenError{Namespace: l.Velero.Namespace, Name: loc.Name})
	}
	if err == nil || leftover != nil {
		return err // a reused Secret stays for the next try: this call did not make it
	}
	cleanupErr := secrets.Delete(context.WithoutCancel(ctx), secret.Name, metav1.DeleteOptions{})
	if cleanupErr != nil && !apierrors.IsNotFound(cleanupErr) {
		return errors.Join(err, fmt.Errorf("remove credential secret %s again: %w", secret.Name, cleanupErr))
	}
	return err
}

// claimName checks that the location's name is free: no BSL has it, and no Secret has its
// credential Secret's name but one this provider left behind without a BSL (an earlier Create
// that failed half-way), which is returned for reuse.
func (l Locations) claimName(ctx context.Context, name string) (leftover *corev1.Secret, err error) {
	bsl, err := Get[velerov1.BackupStorageLocation](ctx, l.Velero, name)
	switch {
	case err == nil:
		return nil, &NameTakenError{Namespace: l.Velero.Namespace, Name: name, ManagedBy: bsl.Labels[ManagedByLabel]}
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("read backup storage location %s: %w", name, err)
	}
	secretName := CredentialSecretName(name)
	secret, err := l.Kube.CoreV1().Secrets(l.Velero.Namespace).Get(ctx, secretName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read credential secret %s: %w", secretName, err)
	case secret.Labels[ManagedByLabel] != ManagedBy:
		return nil, &NameTakenError{Namespace: l.Velero.Namespace, Name: name, Secret: secretName, ManagedBy: secret.Labels[ManagedByLabel]}
	}
	return secret, nil
}

// CheckName reports, without changing anything, a *NameTakenError when Create would refuse name.
func (l Locations) CheckName(ctx context.Context, name string) error {
	_, err := l.claimName(ctx, name)
	return err
}

// nameTakenMeanwhile is the error for a name taken by another writer after claimName looked:
// what holds it now, or guess when a second look finds nothing in the way.
func (l Locations) nameTakenMeanwhile(ctx context.Context, guess *NameTakenError) error {
	if _, err := l.claimName(ctx, guess.Name); err != nil {
		return err
	}
	return guess
}

// Update rewrites the Secret and the BSL spec in place, keeping labels and annotations others
// added. A missing Secret is re-created (drift repair); a missing BSL fails before any write.
func (l Locations) Update(ctx context.Context, loc Location) error {
	defer l.Snapshot.Invalidate()
	bsl, err := Get[velerov1.BackupStorageLocation](ctx, l.Velero, loc.Name)
	if err != nil {
		return fmt.Errorf("read backup storage location %s: %w", loc.Name, err)
	}
	secrets := l.Kube.CoreV1().Secrets(l.Velero.Namespace)
	want := credentialSecret(l.Velero.Namespace, loc)
	current, err := secrets.Get(ctx, want.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		if _, err := secrets.Create(ctx, want, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("re-create credential secret %s: %w", want.Name, err)
		}
	case err != nil:
		return fmt.Errorf("read credential secret %s: %w", want.Name, err)
	default:
		current.Data, current.StringData = want.Data, nil
		if current.Labels == nil {
			current.Labels = map[string]string{}
		}
		current.Labels[ManagedByLabel] = ManagedBy
		if _, err := secrets.Update(ctx, current, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("update credential secret %s: %w", want.Name, err)
		}
	}
	setSpec(bsl, loc)
	// Velero validates a location when its generation changes, and the CRD has no status
	// subresource: clearing the status makes a credentials-only change re-validated at once too.
	bsl.Status = velerov1.BackupStorageLocationStatus{}
	_, err = Update(ctx, l.Velero, bsl)
	return err
}

// Read returns the location as the cluster holds it. A missing BSL is ErrNotFound; a missing or
// unreadable Secret leaves the credentials empty, which shows as drift.
func (l Locations) Read(ctx context.Context, name string) (*Location, *LocationStatus, error) {
	return l.read(ctx, name, false)
}

// read is Read; withServerKey also reads, for a location without a credential of its own, the
// Velero server's key it uses (to read the location's bucket as Velero does, never into state).
func (l Locations) read(ctx context.Context, name string, withServerKey bool) (*Location, *LocationStatus, error) {
	var bsl *velerov1.BackupStorageLocation
	found := false
	if l.Snapshot != nil {
		var err error
		bsl, found, err = l.Snapshot.location(ctx, l, name)
		if err != nil {
			return nil, nil, fmt.Errorf("list backup storage locations: %w", err)
		}
	}
	if !found {
		var err error
		bsl, err = Get[velerov1.BackupStorageLocation](ctx, l.Velero, name)
		if apierrors.IsNotFound(err) {
			return nil, nil, ErrNotFound
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read backup storage location %s: %w", name, err)
		}
	}
	loc := locationFromSpec(bsl)
	ref := bsl.Spec.Credential
	if ref == nil {
		// No credential of its own (a location `velero install` made): Velero uses the server's
		// own key, from DefaultCredentialsSecret. That key is the server's, not the location's: it
		// is not read into the location (so never into Terraform state: the first update gives
		// the location a Secret of its own with the configured key).
		if !withServerKey {
			return loc, statusOf(bsl), nil
		}
		ref = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: DefaultCredentialsSecret}, Key: credentialsKey}
	}
	secret, err := l.Snapshot.secret(ctx, l, ref.Name)
	switch {
	case apierrors.IsNotFound(err):
		return loc, statusOf(bsl), nil
	case err != nil:
		return nil, nil, fmt.Errorf("read credential secret %s: %w", ref.Name, err)
	}
	loc.AccessKeyID, loc.SecretAccessKey = parseAWSCredentials(string(secret.Data[ref.Key]))
	if caRef := bsl.Spec.ObjectStorage.CACertRef; caRef != nil && caRef.Name == ref.Name {
		loc.CACert = string(secret.Data[caRef.Key])
	}
	return loc, statusOf(bsl), nil
}

// Delete removes the BSL and its Secret; bucket data is never touched. Missing objects are fine.
func (l Locations) Delete(ctx context.Context, name string) error {
	defer l.Snapshot.Invalidate()
	if err := Delete[velerov1.BackupStorageLocation](ctx, l.Velero, name); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete backup storage location %s: %w", name, err)
	}
	err := l.Kube.CoreV1().Secrets(l.Velero.Namespace).Delete(ctx, CredentialSecretName(name), metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete credential secret %s: %w", CredentialSecretName(name), err)
	}
	return nil
}

// UnavailableError is a location Velero validated and found unusable.
type UnavailableError struct {
	Name    string
	Message string
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("Velero reports backup storage location %q Unavailable: %s", e.Name, e.Message)
}

// WaitAvailable watches the BSL until Velero has validated it after `since` (a spec change resets
// the phase only at the next validation, so an older Available does not count). It fails with
// Velero's own message when the location is Unavailable.
func (l Locations) WaitAvailable(ctx context.Context, name string, since time.Time) (*LocationStatus, error) {
	bsl, err := WaitFor(ctx, l.Velero, name, func(b *velerov1.BackupStorageLocation) (bool, error) {
		validated := b.Status.LastValidationTime != nil && !b.Status.LastValidationTime.Time.Before(since.Truncate(time.Second))
		if !validated {
			return false, nil
		}
		switch b.Status.Phase {
		case velerov1.BackupStorageLocationPhaseAvailable:
			return true, nil
		case velerov1.BackupStorageLocationPhaseUnavailable:
			return true, &UnavailableError{Name: name, Message: b.Status.Message}
		}
		return false, nil
	})
	if bsl == nil {
		return nil, err
	}
	return statusOf(bsl), err
}

func credentialSecret(namespace string, loc Location) *corev1.Secret {
	data := map[string][]byte{credentialsKey: []byte(awsCredentials(loc.AccessKeyID, loc.SecretAccessKey))}
	if loc.CACert != "" {
		data[caCertKey] = []byte(loc.CACert)
	}
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name: CredentialSecretName(loc.Name), Namespace: namespace,
			Labels: map[string]string{ManagedByLabel: ManagedBy},
		},
		Type: corev1.SecretTypeOpaque,
		Data: data,
	}
}

func awsCredentials(keyID, secret string) string {
	return "[default]\naws_access_key_id=" + keyID + "\naws_secret_access_key=" + secret + "\n"
}

// parseAWSCredentials reads the [default] profile of an AWS ini file.
func parseAWSCredentials(ini string) (keyID, secret string) {
	section := ""
	for _, line := range strings.Split(ini, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			section = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		key, value, ok := strings.Cut(line, "=")
		if !ok || section != "default" {
			continue
		}
		switch strings.TrimSpace(key) {
		case "aws_access_key_id":
			keyID = strings.TrimSpace(value)
		case "aws_secret_access_key":
			secret = strings.TrimSpace(value)
		}
	}
	return keyID, secret
}

// aws plugin config keys.
const (
	configRegion         = "region"
	configS3URL          = "s3Url"
	configForcePathStyle = "s3ForcePathStyle"
	configChecksum       = "checksumAlgorithm"
)

// setSpec writes loc into the BSL spec. Config keys this provider does not manage are kept, so a
// key an operator added out of band survives an update.
func setSpec(bsl *velerov1.BackupStorageLocation, loc Location) {
	s := &bsl.Spec
	s.Provider = "aws"
	if s.Config == nil {
		s.Config = map[string]string{}
	}
	setOrDelete(s.Config, configRegion, loc.Region)
	setOrDelete(s.Config, configS3URL, loc.Endpoint)
	if loc.ForcePathStyle {
		s.Config[configForcePathStyle] = "true"
	} else {
		delete(s.Config, configForcePathStyle)
	}
	if loc.ChecksumAlgorithm != nil {
		s.Config[configChecksum] = *loc.ChecksumAlgorithm
	} else {
		delete(s.Config, configChecksum)
	}
	secretName := CredentialSecretName(loc.Name)
	s.Credential = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Key: credentialsKey}
	s.ObjectStorage = &velerov1.ObjectStorageLocation{Bucket: loc.Bucket, Prefix: loc.Prefix}
	if loc.CACert != "" {
		s.ObjectStorage.CACertRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secretName}, Key: caCertKey}
	}
	s.Default = loc.Default
	s.AccessMode = velerov1.BackupStorageLocationAccessMode(loc.AccessMode)
	s.BackupSyncPeriod = metaDuration(loc.BackupSyncPeriod)
	s.ValidationFrequency = metaDuration(loc.ValidationFrequency)
}

func locationFromSpec(bsl *velerov1.BackupStorageLocation) *Location {
	s := bsl.Spec
	loc := &Location{
		Name:       bsl.Name,
		Region:     s.Config[configRegion],
		Endpoint:   s.Config[configS3URL],
		Default:    s.Default,
		AccessMode: string(s.AccessMode),
	}
	if loc.AccessMode == "" {
		loc.AccessMode = string(velerov1.BackupStorageLocationAccessModeReadWrite)
	}
	loc.ForcePathStyle, _ = strconv.ParseBool(s.Config[configForcePathStyle])
	if v, ok := s.Config[configChecksum]; ok {
		loc.ChecksumAlgorithm = &v
	}
	if s.ObjectStorage != nil {
		loc.Bucket, loc.Prefix = s.ObjectStorage.Bucket, s.ObjectStorage.Prefix
	}
	if s.BackupSyncPeriod != nil {
		d := s.BackupSyncPeriod.Duration
		loc.BackupSyncPeriod = &d
	}
	if s.ValidationFrequency != nil {
		d := s.ValidationFrequency.Duration
		loc.ValidationFrequency = &d
	}
	return loc
}

func statusOf(bsl *velerov1.BackupStorageLocation) *LocationStatus {
	st := &LocationStatus{Phase: string(bsl.Status.Phase), Message: bsl.Status.Message, Default: bsl.Spec.Default}
	if t := bsl.Status.LastValidationTime; t != nil {
		v := t.Time
		st.LastValidationTime = &v
	}
	return st
}

func setOrDelete(m map[string]string, key, value string) {
	if value == "" {
		delete(m, key)
		return
	}
	m[key] = value
}

func metaDuration(d *time.Duration) *metav1.Duration {
	if d == nil {
		return nil
	}
	return &metav1.Duration{Duration: *d}
}
