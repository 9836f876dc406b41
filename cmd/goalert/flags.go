package main

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// notYetSupported lists the flags whose features do not exist yet. Setting one to anything but its
// default stops start-up, so an operator migrating from GoAlert learns at once what would be missing
// instead of finding out when a notification never arrives. Delete an entry when its feature lands.
// An explicit default (--stub-notifiers=false in an old manifest) requests nothing and passes.
var notYetSupported = []struct {
	flag string
	used func(Config) bool
}{
	{"db-url-next", func(c Config) bool { return c.DBURLNext != "" }},
	{"github-base-url", func(c Config) bool { return c.GitHubBaseURL != "" }},
	{"listen-sysapi", func(c Config) bool { return c.ListenSysAPI != "" }},
	{"sysapi-ca-file", func(c Config) bool { return c.SysAPICAFile != "" }},
	{"sysapi-cert-file", func(c Config) bool { return c.SysAPICertFile != "" }},
	{"sysapi-key-file", func(c Config) bool { return c.SysAPIKeyFile != "" }},
	{"ui-dir", func(c Config) bool { return c.UIDir != "" }},
}

const defaultSMTPMaxRecipients = 1

// Config is everything the goalert binary is told through flags and GOALERT_* environment variables.
type Config struct {
	DBURL, DBURLNext, PublicURL                string
	DataEncryptionKey, DataEncryptionKeyOld    string
	APIOnly                                    bool
	DBMaxIdle, DBMaxOpen                       int
	DisableHTTPSRedirect, EnableSecureHeaders  bool
	EmailIntegrationDomain                     string
	EngineCycleTime                            time.Duration
	Experimental                               []string
	ListExperimental, StrictExperimental       bool
	GitHubBaseURL, SlackBaseURL, TwilioBaseURL string

	JSON, Verbose, StackTraces, LogRequests, LogErrorsOnly, LogEngineCycles bool

	Listen, ListenTLS, ListenPrometheus, ListenSysAPI string
	MaxRequestBodyBytes, MaxRequestHeaderBytes        int64
	RegionName                                        string
	SMTPAdditionalDomains                             string
	SMTPListen, SMTPListenTLS                         string
	SMTPMaxRecipients                                 int
	SMTPTLSCertData, SMTPTLSCertFile                  string
	SMTPTLSKeyData, SMTPTLSKeyFile                    string
	StatusAddr                                        string
	StubNotifiers                                     bool
	SysAPICAFile, SysAPICertFile, SysAPIKeyFile       string
	TLSCertData, TLSCertFile, TLSKeyData, TLSKeyFile  string
	UIDir                                             string

	// Set records which flags were given explicitly (flag or env), by flag name without dashes.
	Set map[string]bool
	// ClockSpeed > 1 makes the engine clock run faster than real time; development only.
	ClockSpeed float64
}

// Unsupported returns the flags (as "--name") that ask for a feature that does not exist yet.
func (c Config) Unsupported() []string {
	var names []string
	for _, u := range notYetSupported {
		if u.used(c) {
			names = append(names, "--"+u.flag)
		}
	}
	return names
}

var errNoDBURL = errors.New("--db-url (or GOALERT_DB_URL) is required")

// check returns every reason this configuration cannot run, joined, so one attempt shows them all.
// The result is a usageError: the fix is in the command line or the environment.
func (c Config) check(requireDB bool) error {
	var errs []error
	for _, name := range c.Unsupported() {
		errs = append(errs, fmt.Errorf("not supported yet: %s", name))
	}
	if c.StrictExperimental {
		for _, name := range c.Experimental {
			errs = append(errs, fmt.Errorf("unknown experimental feature: %s", name))
		}
	}
	if requireDB && c.DBURL == "" {
		errs = append(errs, errNoDBURL)
	}
	if c.ListenTLS != "" {
		errs = append(errs, c.tlsProblems()...)
	}
	errs = append(errs, c.smtpProblems()...)
	if !(c.ClockSpeed > 0) || math.IsInf(c.ClockSpeed, 0) {
		errs = append(errs, fmt.Errorf("--clock-speed must be a positive number, got %v", c.ClockSpeed))
	}
	if len(errs) == 0 {
		return nil
	}
	return usageError{errors.Join(errs...)}
}

func (c Config) tlsProblems() []error {
	var errs []error
	if c.TLSCertFile != "" && c.TLSCertData != "" {
		errs = append(errs, errors.New("give only one of --tls-cert-file and --tls-cert-data"))
	}
	if c.TLSKeyFile != "" && c.TLSKeyData != "" {
		errs = append(errs, errors.New("give only one of --tls-key-file and --tls-key-data"))
	}
	if (c.TLSCertFile == "" && c.TLSCertData == "") || (c.TLSKeyFile == "" && c.TLSKeyData == "") {
		errs = append(errs, errors.New("--listen-tls requires a certificate and a key: set --tls-cert-file and --tls-key-file, or --tls-cert-data and --tls-key-data"))
	}
	return errs
}

// smtpProblems checks the flags of the built-in SMTP server. A certificate given with --smtp-listen
// alone is offered through STARTTLS, so it is checked then too.
func (c Config) smtpProblems() []error {
	if c.SMTPListen == "" && c.SMTPListenTLS == "" {
		return nil
	}
	var errs []error
	if strings.TrimSpace(c.EmailIntegrationDomain) == "" {
		errs = append(errs, errors.New("--email-integration-domain is required when --smtp-listen or --smtp-listen-tls is set: mail is accepted for <integration key>@<that domain>"))
	}
	if c.SMTPMaxRecipients < 1 {
		errs = append(errs, fmt.Errorf("--smtp-max-recipients must be at least 1, got %d", c.SMTPMaxRecipients))
	}
	certGiven := c.SMTPTLSCertFile != "" || c.SMTPTLSCertData != "" || c.SMTPTLSKeyFile != "" || c.SMTPTLSKeyData != ""
	if c.SMTPListenTLS == "" && !certGiven {
		return errs
	}
	if c.SMTPTLSCertFile != "" && c.SMTPTLSCertData != "" {
		errs = append(errs, errors.New("give only one of --smtp-tls-cert-file and --smtp-tls-cert-data"))
	}
	if c.SMTPTLSKeyFile != "" && c.SMTPTLSKeyData != "" {
		errs = append(errs, errors.New("give only one of --smtp-tls-key-file and --smtp-tls-key-data"))
	}
	if (c.SMTPTLSCertFile == "" && c.SMTPTLSCertData == "") || (c.SMTPTLSKeyFile == "" && c.SMTPTLSKeyData == "") {
		what := "--smtp-listen-tls requires"
		if c.SMTPListenTLS == "" {
			what = "STARTTLS on --smtp-listen requires"
		}
		errs = append(errs, errors.New(what+" a certificate and a key: set --smtp-tls-cert-file and --smtp-tls-key-file, or --smtp-tls-cert-data and --smtp-tls-key-data"))
	}
	return errs
}

// addGlobalFlags registers the flags every command accepts.
func addGlobalFlags(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.DataEncryptionKey, "data-encryption-key", "", "Encryption key for sensitive data like signing keys. Used for encrypting new and decrypting existing data.")
	fs.StringVar(&c.DataEncryptionKeyOld, "data-encryption-key-old", "", "Fallback key. Used for decrypting existing data only.")
	fs.StringVar(&c.DBURL, "db-url", "", "Connection string for Postgres.")
	fs.StringVar(&c.DBURLNext, "db-url-next", "", "Connection string for the *next* Postgres server (enables DB switchover mode).")
	fs.BoolVar(&c.JSON, "json", false, "Log in JSON format.")
	fs.BoolVar(&c.StackTraces, "stack-traces", false, "Enables stack traces with all error logs.")
	fs.BoolVarP(&c.Verbose, "verbose", "v", false, "Enable verbose logging.")
	bindEnv(fs)
}

// addServeFlags registers the flags of the server, shared by the root command and `dev`.
func addServeFlags(fs *pflag.FlagSet, c *Config) {
	fs.StringVar(&c.PublicURL, "public-url", "", "Externally routable URL to the application. Used for validating callback requests, links, auth, and prefix calculation.")
	fs.BoolVar(&c.APIOnly, "api-only", false, "Starts in API-only mode (schedules & notifications will not be processed). Useful in clusters.")
	fs.IntVar(&c.DBMaxIdle, "db-max-idle", 5, "Max idle DB connections.")
	fs.IntVar(&c.DBMaxOpen, "db-max-open", 15, "Max open DB connections.")
	fs.BoolVar(&c.DisableHTTPSRedirect, "disable-https-redirect", false, "Disable automatic HTTPS redirects.")
	fs.BoolVar(&c.EnableSecureHeaders, "enable-secure-headers", false, "Enable secure headers (X-Frame-Options, X-Content-Type-Options, X-XSS-Protection, Content-Security-Policy).")
	fs.StringVar(&c.EmailIntegrationDomain, "email-integration-domain", "", "Domain used for email integration keys; required when --smtp-listen or --smtp-listen-tls is set.")
	fs.DurationVar(&c.EngineCycleTime, "engine-cycle-time", 5*time.Second, "Time between engine cycles.")
	fs.StringSliceVar(&c.Experimental, "experimental", nil, "Enable experimental features.")
	fs.StringVar(&c.GitHubBaseURL, "github-base-url", "", "Base URL for GitHub auth and API calls.")
	fs.BoolVar(&c.ListExperimental, "list-experimental", false, "List experimental features.")
	fs.StringVar(&c.Listen, "listen", "localhost:8081", "Listen address:port for the application.")
	fs.StringVar(&c.ListenPrometheus, "listen-prometheus", "", "Bind address for Prometheus metrics.")
	fs.StringVar(&c.ListenSysAPI, "listen-sysapi", "", "(Experimental) Listen address:port for the system API (gRPC).")
	fs.StringVar(&c.ListenTLS, "listen-tls", "", "HTTPS listen address:port for the application. Requires --tls-cert-file and --tls-key-file, or --tls-cert-data and --tls-key-data.")
	fs.BoolVar(&c.LogEngineCycles, "log-engine-cycles", false, "Log start and end of each engine cycle.")
	fs.BoolVar(&c.LogErrorsOnly, "log-errors-only", false, "Only log errors (supersedes other flags).")
	fs.BoolVar(&c.LogRequests, "log-requests", false, "Log all HTTP requests. If false, requests are logged for debug contexts only.")
	fs.Int64Var(&c.MaxRequestBodyBytes, "max-request-body-bytes", 256*1024, "Max body size for all incoming requests (in bytes). Set to 0 to disable limit.")
	fs.Int64Var(&c.MaxRequestHeaderBytes, "max-request-header-bytes", 4096, "Max header size for all incoming requests (in bytes). Set to 0 to disable limit.")
	fs.StringVar(&c.RegionName, "region-name", "default", "Name of region for message processing (case sensitive). Only one instance per region name sends outgoing messages.")
	fs.StringVar(&c.SlackBaseURL, "slack-base-url", "", "Override the Slack base URL.")
	fs.StringVar(&c.SMTPAdditionalDomains, "smtp-additional-domains", "", "Additional comma-separated destination domains allowed by the SMTP server.")
	fs.StringVar(&c.SMTPListen, "smtp-listen", "", "Listen address:port for an internal SMTP server.")
	fs.StringVar(&c.SMTPListenTLS, "smtp-listen-tls", "", "SMTPS listen address:port for an internal SMTP server. Requires --smtp-tls-cert-file and --smtp-tls-key-file, or --smtp-tls-cert-data and --smtp-tls-key-data.")
	fs.IntVar(&c.SMTPMaxRecipients, "smtp-max-recipients", defaultSMTPMaxRecipients, "Maximum number of recipients allowed per message.")
	fs.StringVar(&c.SMTPTLSCertData, "smtp-tls-cert-data", "", "PEM-encoded certificate for --smtp-listen-tls (and STARTTLS on --smtp-listen).")
	fs.StringVar(&c.SMTPTLSCertFile, "smtp-tls-cert-file", "", "Path to a PEM-encoded certificate for --smtp-listen-tls (and STARTTLS on --smtp-listen).")
	fs.StringVar(&c.SMTPTLSKeyData, "smtp-tls-key-data", "", "PEM-encoded private key for --smtp-listen-tls (and STARTTLS on --smtp-listen).")
	fs.StringVar(&c.SMTPTLSKeyFile, "smtp-tls-key-file", "", "Path to a PEM-encoded private key file for --smtp-listen-tls (and STARTTLS on --smtp-listen).")
	fs.StringVar(&c.StatusAddr, "status-addr", "", "Open a port to emit status updates. Connections are closed when the server shuts down.")
	fs.BoolVar(&c.StrictExperimental, "strict-experimental", false, "Fail to start if unknown experimental features are specified.")
	fs.BoolVar(&c.StubNotifiers, "stub-notifiers", false, "Replace notification senders with ones that always succeed without sending (staging/sandbox environments).")
	fs.StringVar(&c.SysAPICAFile, "sysapi-ca-file", "", "(Experimental) Path to PEM-encoded certificate(s) authorizing connections from plugin services.")
	fs.StringVar(&c.SysAPICertFile, "sysapi-cert-file", "", "(Experimental) Path to a PEM-encoded certificate used when connecting to plugin services.")
	fs.StringVar(&c.SysAPIKeyFile, "sysapi-key-file", "", "(Experimental) Path to a PEM-encoded private key file used when connecting to plugin services.")
	fs.StringVar(&c.TLSCertData, "tls-cert-data", "", "PEM-encoded certificate for --listen-tls.")
	fs.StringVar(&c.TLSCertFile, "tls-cert-file", "", "Path to a PEM-encoded certificate for --listen-tls.")
	fs.StringVar(&c.TLSKeyData, "tls-key-data", "", "PEM-encoded private key for --listen-tls.")
	fs.StringVar(&c.TLSKeyFile, "tls-key-file", "", "Path to a PEM-encoded private key file for --listen-tls.")
	fs.StringVar(&c.TwilioBaseURL, "twilio-base-url", "", "Override the Twilio API URL.")
	fs.StringVar(&c.UIDir, "ui-dir", "", "Serve UI assets from a local directory instead of from memory.")
	fs.Float64Var(&c.ClockSpeed, "clock-speed", 1, "Development only: run the engine clock N times faster.")
	bindEnv(fs)
}

// envAnnotation marks a flag that can also be set from the environment, and names the variable.
const envAnnotation = "goalert-env"

func envName(flag string) string {
	return "GOALERT_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func bindEnv(fs *pflag.FlagSet) {
	fs.VisitAll(func(f *pflag.Flag) {
		_ = fs.SetAnnotation(f.Name, envAnnotation, []string{envName(f.Name)})
	})
}

// applyEnv sets every env-bound flag that was not given on the command line from its variable, so a
// flag always wins over the environment. An empty variable counts as unset.
func applyEnv(fs *pflag.FlagSet, getenv func(string) string) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		names := f.Annotations[envAnnotation]
		if f.Changed || len(names) == 0 {
			return
		}
		v := getenv(names[0])
		if v == "" {
			return
		}
		if f.Value.Type() == "bool" {
			v = normalizeBool(v)
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("invalid %s %q: %w", names[0], v, err))
		}
	})
	if len(errs) == 0 {
		return nil
	}
	return usageError{errors.Join(errs...)}
}

// normalizeBool accepts the spellings people put in environment files on top of strconv.ParseBool's.
func normalizeBool(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "y", "on":
		return "true"
	case "no", "n", "off":
		return "false"
	}
	return v
}

// explicitFlags returns the names of the flags given on the command line or through the environment.
func explicitFlags(fs *pflag.FlagSet) map[string]bool {
	set := make(map[string]bool)
	fs.Visit(func(f *pflag.Flag) { set[f.Name] = true })
	return set
}
