package server

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// AddProject stores a project. Its Path must be a full path with at least
// one slash ("group/proj"), since GitLab resolves only such paths.
func (s *Server) AddProject(p Project) error {
	if p.ID <= 0 {
		return fmt.Errorf("project %q: needs a positive ID", p.Path)
	}
	if !strings.Contains(p.Path, "/") || strings.HasPrefix(p.Path, "/") || strings.HasSuffix(p.Path, "/") {
		return fmt.Errorf("project %d: path %q is not a full path like \"group/project\"", p.ID, p.Path)
	}
	switch p.Visibility {
	case "", Public, Internal, Private:
	default:
		return fmt.Errorf("project %d: unknown visibility %q", p.ID, p.Visibility)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	_, err := s.store.CreateProject(p)
	return err
}

// Publish stores a file as if it had been uploaded, without authentication
// and without the duplicate setting (a duplicate file name always adds a
// record). fileName may hold a directory path ("dir/file.bin"), stored
// URL-encoded like an upload's. status, when not empty, becomes the
// package's status and may be any status, e.g. StatusError.
func (s *Server) Publish(projectID int64, name, version, fileName string, data []byte, status string) (PackageFile, error) {
	if _, err := s.store.Project(projectID); err != nil {
		return PackageFile{}, err
	}
	if status != "" && !slices.Contains(statuses, status) {
		return PackageFile{}, fmt.Errorf("publish %s@%s: unknown status %q", name, version, status)
	}
	rest := name + "/" + version + "/" + fileName
	g, msg, ok := parseGenericPath(escapeSegments(rest))
	if !ok || msg != "" {
		return PackageFile{}, fmt.Errorf("publish %q: invalid: %s", rest, msg)
	}
	f, err := s.addFile(projectID, g.name, g.version, g.storedName(), bytes.NewReader(data), status, false)
	if err != nil {
		return PackageFile{}, fmt.Errorf("publish %s@%s %q: %w", name, version, fileName, err)
	}
	return f, nil
}

// escapeSegments escapes each /-separated segment of p.
func escapeSegments(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// SetStatus sets the status of the live (not pending_destruction) package
// name@version, e.g. to StatusError or StatusProcessing.
func (s *Server) SetStatus(projectID int64, name, version, status string) error {
	if !slices.Contains(statuses, status) {
		return fmt.Errorf("package %s@%s: unknown status %q", name, version, status)
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	pkg, ok, err := s.livePackage(projectID, name, version)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("package %s@%s in project %d: %w", name, version, projectID, ErrNotExist)
	}
	if status == StatusPendingDestruction {
		return s.markForDestruction(pkg)
	}
	pkg.Status, pkg.UpdatedAt = status, s.now()
	return s.store.UpdatePackage(pkg)
}

// DeletePackage marks the live package name@version and its files
// pending_destruction, as the DELETE API does.
func (s *Server) DeletePackage(projectID int64, name, version string) error {
	return s.SetStatus(projectID, name, version, StatusPendingDestruction)
}
