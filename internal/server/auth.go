package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"
)

// Role is a project member's access level, with GitLab's numeric values.
type Role int

// Member roles.
const (
	NoAccess   Role = 0
	Guest      Role = 10
	Reporter   Role = 20
	Developer  Role = 30
	Maintainer Role = 40
	Owner      Role = 50
)

// Token types.
const (
	TokenPrivate = "private" // personal, project or group access token
	TokenJob     = "job"     // CI/CD job token
	TokenDeploy  = "deploy"  // deploy token
	TokenOAuth   = "oauth"   // OAuth2 access token
)

// Token scopes.
const (
	ScopeAPI                  = "api"
	ScopeReadAPI              = "read_api"
	ScopeReadPackageRegistry  = "read_package_registry"
	ScopeWritePackageRegistry = "write_package_registry"
)

// Token is a credential the server accepts.
type Token struct {
	Value string
	// Type is TokenPrivate, TokenJob, TokenDeploy or TokenOAuth; empty
	// means TokenPrivate.
	Type string
	// User is the token's user; for a job token the user who triggered the
	// pipeline, whose role the job acts with. Unused for deploy tokens.
	User string
	// ProjectID is the job's project for a job token and the token's
	// project for a deploy token.
	ProjectID int64
	// Scopes of a private, OAuth or deploy token. Empty means {api} for
	// private and OAuth tokens and both package registry scopes for deploy
	// tokens.
	Scopes []string
	// Expired makes the token fail: 401 with GitLab's OAuth-style body for
	// private and OAuth tokens, a plain 401 for a job token whose job has
	// finished, and an ignored credential for deploy tokens (GitLab looks
	// deploy tokens up among active ones only).
	Expired bool
	// Revoked is like Expired with GitLab's "revoked" description.
	Revoked bool
	// DeployHeader makes a private token count in the Deploy-Token header
	// too, on the routes that take deploy tokens (generic upload and
	// download), where it acts as its user with its scopes. GitLab has no
	// such token: it is for gpm serve, whose tokens are of no one GitLab
	// type and which consumers may send the way they send deploy tokens.
	DeployHeader bool
}

// storedToken is a registered token with the SHA-256 of its value, which is
// what requests are compared against.
type storedToken struct {
	digest [sha256.Size]byte
	token  Token
}

// lookupToken finds the token whose value is v. It compares the SHA-256 of
// v with that of every registered token in constant time and never stops
// early, so how long it takes says nothing about how much of a token a
// guess got right, nor which token matched.
func (s *Server) lookupToken(v string) (Token, bool) {
	if v == "" {
		return Token{}, false
	}
	d := sha256.Sum256([]byte(v))
	var found Token
	ok := 0
	for _, st := range s.tokens {
		eq := subtle.ConstantTimeCompare(d[:], st.digest[:])
		if eq == 1 {
			found = st.token
		}
		ok |= eq
	}
	return found, ok == 1
}

func (t Token) scopes() []string {
	if len(t.Scopes) > 0 {
		return t.Scopes
	}
	if t.Type == TokenDeploy {
		return []string{ScopeReadPackageRegistry, ScopeWritePackageRegistry}
	}
	return []string{ScopeAPI}
}

func (t Token) has(scope string) bool { return slices.Contains(t.scopes(), scope) }

// routeAuth says which credentials a route accepts, like GitLab's
// route_setting :authentication.
type routeAuth struct {
	deploy       bool // deploy_token_allowed
	job          bool // job_token_allowed (header, parameter, Bearer)
	jobBasic     bool // job_token_allowed includes basic_auth
	basicPAT     bool // basic_auth_personal_access_token
	publicAccess bool // allow_public_access_for_enabled_project_features: package_registry
}

var (
	authGenericPut = routeAuth{deploy: true, job: true, basicPAT: true}
	authGenericGet = routeAuth{deploy: true, job: true, jobBasic: true, basicPAT: true, publicAccess: true}
	authProject    = routeAuth{job: true}
	authProjectPub = routeAuth{job: true, publicAccess: true}
	authGroup      = routeAuth{}
)

type identKind int

const (
	anonymous identKind = iota
	userIdent
	deployIdent
)

// ident is who a request acts as.
type ident struct {
	kind  identKind
	user  string
	token Token // zero for anonymous
	// jobSource is the job's project for a job token, else 0.
	jobSource int64
}

func (id ident) isJob() bool { return id.jobSource != 0 }

// authError is a response that ends a request during authentication.
type authError struct {
	status int
	body   any
	// realm adds the packages WWW-Authenticate header on generic routes.
	realm bool
	// bearer is the WWW-Authenticate header of an OAuth error.
	bearer string
}

func unauthorized() *authError {
	return &authError{status: http.StatusUnauthorized, body: message("401 Unauthorized")}
}

func tokenError(description string) *authError {
	return &authError{
		status: http.StatusUnauthorized,
		body:   map[string]string{"error": "invalid_token", "error_description": description},
		bearer: `Bearer realm="",error="invalid_token",error_description="` + description + `"`,
	}
}

// identify finds the credentials of r the way GitLab's AuthFinders do for a
// route with the given settings: a deploy token first, then a Bearer job
// token, then an access token, then a job token. Unknown deploy tokens and
// unknown basic-auth passwords are ignored; any other unknown or expired
// token is an error, even on public resources.
//
// Options.AnonymousUser turns authentication off: a request that does not
// authenticate as a known, valid token, with or without credentials, acts as
// that user. Options.RequireAuth refuses requests without credentials.
func (s *Server) identify(r *http.Request, ra routeAuth) (ident, *authError) {
	id, aerr := s.identifyToken(r, ra)
	switch {
	case s.opts.AnonymousUser != "" && (aerr != nil || id.kind == anonymous):
		return ident{kind: userIdent, user: s.opts.AnonymousUser}, nil
	case s.opts.RequireAuth && aerr == nil && id.kind == anonymous:
		return ident{}, unauthorized()
	}
	return id, aerr
}

// identifyToken is identify without Options.AnonymousUser and RequireAuth.
func (s *Server) identifyToken(r *http.Request, ra routeAuth) (ident, *authError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	bearer := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "Bearer ") {
		bearer = strings.TrimSpace(h[7:])
	}
	basicUser, basicPass, hasBasic := r.BasicAuth()
	q := r.URL.Query()

	if ra.deploy {
		v := r.Header.Get("Deploy-Token")
		if v == "" {
			v = bearer
		}
		if hasBasic {
			v = basicPass
		}
		if t, ok := s.lookupToken(v); ok && !t.Expired && !t.Revoked {
			switch {
			case t.Type == TokenDeploy:
				return ident{kind: deployIdent, token: t}, nil
			case t.Type == TokenPrivate && t.DeployHeader:
				return ident{kind: userIdent, user: t.User, token: t}, nil
			}
		}
	}
	if ra.job && bearer != "" {
		if t, ok := s.lookupToken(bearer); ok && t.Type == TokenJob && !t.Expired && !t.Revoked {
			return s.jobIdent(t), nil
		}
	}

	// Access tokens: parameter, header, Bearer, and on some routes the
	// password of basic auth (ignored when unknown).
	access, fromBasic := q.Get("private_token"), false
	if access == "" {
		access = r.Header.Get("Private-Token")
	}
	if access == "" {
		access = bearer
	}
	if access == "" && ra.basicPAT && hasBasic && !(ra.jobBasic && basicUser == jobUser) {
		access, fromBasic = basicPass, true
	}
	if access != "" {
		t, ok := s.lookupToken(access)
		fromBearer := access == bearer && bearer != ""
		valid := ok && (t.Type == TokenPrivate || (t.Type == TokenOAuth && fromBearer))
		switch {
		case !valid && fromBasic:
			// An unknown basic-auth password is not a credential.
		case !valid:
			return ident{}, unauthorized()
		case t.Revoked:
			return ident{}, tokenError("Token was revoked. You have to re-authorize from the user.")
		case t.Expired:
			return ident{}, tokenError("Token is expired. You can either do re-authorization or token refresh.")
		default:
			return ident{kind: userIdent, user: t.User, token: t}, nil
		}
	}

	if ra.job {
		v := q.Get("job_token")
		if v == "" {
			v = r.Header.Get("Job-Token")
		}
		if v == "" && ra.jobBasic && hasBasic && basicUser == jobUser {
			v = basicPass
		}
		if v != "" {
			t, ok := s.lookupToken(v)
			if !ok || t.Type != TokenJob || t.Expired || t.Revoked {
				return ident{}, unauthorized()
			}
			return s.jobIdent(t), nil
		}
	}
	return ident{}, nil
}

// jobUser is the basic-auth user name of CI job tokens.
const jobUser = "gitlab-ci-token"

func (s *Server) jobIdent(t Token) ident {
	src := t.ProjectID
	if src == 0 {
		src = -1 // a job token always has a project; keep isJob true
	}
	return ident{kind: userIdent, user: t.User, token: t, jobSource: src}
}

// checkScope rejects access tokens whose scopes do not cover the method:
// read_api reads, api does everything.
func checkScope(id ident, method string) *authError {
	if id.kind != userIdent || id.isJob() {
		return nil
	}
	t := id.token
	if t.has(ScopeAPI) {
		return nil
	}
	if (method == http.MethodGet || method == http.MethodHead) && t.has(ScopeReadAPI) {
		return nil
	}
	return &authError{
		status: http.StatusForbidden,
		body: map[string]string{
			"error":             "insufficient_scope",
			"error_description": "The request requires higher privileges than provided by the access token.",
			"scope":             "api",
		},
		bearer: `Bearer realm="",error="insufficient_scope",error_description="The request requires higher privileges than provided by the access token.",scope="api"`,
	}
}

// role returns the member role of the identity's user in p.
func (s *Server) role(id ident, p Project) Role {
	if id.kind != userIdent {
		return NoAccess
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.members[p.ID][id.user]
}

// jobBlocked reports whether a job token is refused by p's inbound
// allowlist.
func (s *Server) jobBlocked(id ident, p Project) bool {
	if !id.isJob() || id.jobSource == p.ID {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.allowlistOff[p.ID] {
		return false
	}
	return !s.allowed[p.ID][id.jobSource]
}

// canReadProject is GitLab's read_project. On routes that allow public
// access to the package registry, a project whose registry is open to
// everyone (public, internal or PackageRegistryPublic) is readable whatever
// the job token allowlist says.
func (s *Server) canReadProject(id ident, p Project, ra routeAuth) bool {
	vis := p.visibility()
	if ra.publicAccess && (p.PackageRegistryPublic || vis == Public || (vis == Internal && id.kind == userIdent)) {
		return true
	}
	switch id.kind {
	case deployIdent:
		return vis == Public || id.token.ProjectID == p.ID
	case anonymous:
		return vis == Public
	}
	if s.jobBlocked(id, p) {
		return false
	}
	switch vis {
	case Public, Internal:
		return true
	}
	return s.role(id, p) >= Guest
}

// canReadPackages is GitLab's read_package on the project's packages.
func (s *Server) canReadPackages(id ident, p Project, ra routeAuth) bool {
	vis := p.visibility()
	if p.PackageRegistryPublic && (ra.publicAccess || s.canReadProject(id, p, ra)) {
		return true
	}
	if ra.publicAccess && (vis == Public || (vis == Internal && id.kind == userIdent)) {
		return true
	}
	switch id.kind {
	case deployIdent:
		if id.token.ProjectID == p.ID {
			return id.token.has(ScopeReadPackageRegistry) || id.token.has(ScopeWritePackageRegistry)
		}
		return vis == Public
	case anonymous:
		return vis == Public
	}
	if s.jobBlocked(id, p) {
		return false
	}
	switch vis {
	case Public, Internal:
		return true
	}
	return s.role(id, p) >= Reporter
}

// canCreatePackage is GitLab's create_package: Developer or a deploy token
// of the project with write_package_registry.
func (s *Server) canCreatePackage(id ident, p Project) bool {
	switch id.kind {
	case deployIdent:
		return id.token.ProjectID == p.ID && id.token.has(ScopeWritePackageRegistry)
	case userIdent:
		return !s.jobBlocked(id, p) && s.role(id, p) >= Developer
	}
	return false
}

// canDestroyPackage is GitLab's destroy_package, which in current releases
// takes a Maintainer.
func (s *Server) canDestroyPackage(id ident, p Project) bool {
	return id.kind == userIdent && !s.jobBlocked(id, p) && s.role(id, p) >= Maintainer
}

// AddUser registers a user. Users named by tokens and members are
// registered implicitly.
func (s *Server) AddUser(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = true
}

// AddMember gives user the role in a project, replacing any earlier role.
func (s *Server) AddMember(projectID int64, user string, role Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[user] = true
	if s.members[projectID] == nil {
		s.members[projectID] = map[string]Role{}
	}
	s.members[projectID][user] = role
}

// AddToken registers a credential, replacing any token with the same value.
func (s *Server) AddToken(t Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.Type == "" {
		t.Type = TokenPrivate
	}
	if t.User != "" {
		s.users[t.User] = true
	}
	st := storedToken{digest: sha256.Sum256([]byte(t.Value)), token: t}
	for i := range s.tokens {
		if s.tokens[i].digest == st.digest {
			s.tokens[i] = st
			return
		}
	}
	s.tokens = append(s.tokens, st)
}

// AllowJobToken adds sourceProjectID to the inbound job token allowlist of
// targetProjectID. Allowlists are enforced for every project, as in GitLab
// 18.0 and later: a job token of another project that is not listed gets 404
// on the generic routes and 403 "Authentication by CI/CD job token not
// allowed from <src> to <target>." on the packages API, except where public
// package registry access lets anyone read.
func (s *Server) AllowJobToken(targetProjectID, sourceProjectID int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.allowed[targetProjectID] == nil {
		s.allowed[targetProjectID] = map[int64]bool{}
	}
	s.allowed[targetProjectID][sourceProjectID] = true
}

// SetJobTokenAllowlist turns enforcement of a project's inbound job token
// allowlist on (the default) or off. With it off, job tokens of any project
// act with their user's role, as before GitLab 18.0.
func (s *Server) SetJobTokenAllowlist(projectID int64, enforced bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.allowlistOff[projectID] = !enforced
}
