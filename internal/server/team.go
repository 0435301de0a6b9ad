package server

import "time"

// TeamUser is the one user of a registry made by NewTeam: every token is
// hers, she owns every project, and without tokens anonymous callers act
// as her.
const TeamUser = "gpm"

// Team configures a registry that a team shares (gpm serve).
type Team struct {
	// Tokens are the accepted credentials. Without any, authentication is
	// off: anyone who can reach the server may publish, which is only safe
	// on loopback.
	Tokens []TeamToken
	// MaxFileSize is the upload limit in bytes: 0 means no limit.
	MaxFileSize int64
	// UploadIdleTimeout is how long an upload body may deliver nothing.
	UploadIdleTimeout time.Duration
	// Logf receives one access-log line per request.
	Logf func(format string, args ...any)
}

// TeamToken is a token of a Team registry.
type TeamToken struct {
	Value string
	// ReadOnly tokens list and download; anything else answers 403, as a
	// token with GitLab's read_api scope does.
	ReadOnly bool
}

// NewTeam returns a registry over store for a team: projects are created by
// their first upload and owned by TeamUser, every token is TeamUser's (in
// the PRIVATE-TOKEN header, and in Deploy-Token where consumers send deploy
// tokens), and with tokens every API request must carry one.
func NewTeam(store Store, t Team) (*Server, error) {
	max := t.MaxFileSize
	if max == 0 {
		max = -1 // Options: negative is no limit
	}
	opts := Options{Store: store, AutoCreateProjects: true, Logf: t.Logf,
		MaxFileSize: max, UploadIdleTimeout: t.UploadIdleTimeout}
	if len(t.Tokens) == 0 {
		opts.AnonymousUser = TeamUser
	} else {
		opts.RequireAuth = true
	}
	srv := New(opts)
	srv.AddUser(TeamUser)
	for _, tok := range t.Tokens {
		st := Token{Value: tok.Value, Type: TokenPrivate, User: TeamUser, DeployHeader: true}
		if tok.ReadOnly {
			st.Scopes = []string{ScopeReadAPI}
		}
		srv.AddToken(st)
	}
	// Membership lives in memory: give the user back every stored project.
	projects, err := store.Projects()
	if err != nil {
		return nil, err
	}
	for _, p := range projects {
		srv.AddMember(p.ID, TeamUser, Owner)
	}
	return srv, nil
}
