package main

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/rolegate/rolegate/config"
)

// cli is one run of the program: where it reads its settings and input,
// and where it writes.
type cli struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// action is the body of a command, given its configuration and its
// positional arguments.
type action func(ctx context.Context, cfg config.Config, args []string) error

// replacedAnnotation, followed by a setting's flag name, is the key of
// the command's own flag that replaces the setting on that command.
const replacedAnnotation = "replaced-setting:"

// replaceSetting says that cmd's own flag replaces a setting, which cmd
// then does not offer under its longer name.
func replaceSetting(cmd *cobra.Command, setting, own string) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	cmd.Annotations[replacedAnnotation+setting] = own
}

// replacedSettings lists the settings cmd's own flags replace.
func replacedSettings(cmd *cobra.Command) []string {
	var out []string
	for k := range cmd.Annotations {
		if setting, ok := strings.CutPrefix(k, replacedAnnotation); ok {
			out = append(out, setting)
		}
	}
	return out
}

// settingAnnotation marks the flags that are configuration settings, so
// that help lists them apart from the command's own flags.
const settingAnnotation = "rolegate-setting"

// leaf gives cmd the configuration settings as flags, all but those its
// own flags replace (see replaceSetting: one spelling for each value), and
// makes it run act with the configuration they and the environment
// describe.
func (c *cli) leaf(cmd *cobra.Command, act action) *cobra.Command {
	settings := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	given := config.Register(settings, replacedSettings(cmd)...)
	settings.VisitAll(func(f *pflag.Flag) {
		f.Annotations = map[string][]string{settingAnnotation: {"true"}}
		cmd.Flags().AddFlag(f)
	})
	if cmd.Args == nil {
		cmd.Args = noArgs
	}
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		cfg, err := given.Load(c.getenv)
		if err != nil {
			return fmt.Errorf("configuration:\n%w", err)
		}
		return act(cmd.Context(), cfg, args)
	}
	return cmd
}

// group is a command that only holds others. Run without one of them, or
// with a name that is none of them, it is a usage error that names the
// closest.
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use + " <command>", Short: short, Args: cobra.ArbitraryArgs, RunE: unknownCommand}
	g.AddCommand(subs...)
	return g
}

// unknownCommand is a group's answer to a missing or mistyped command.
func unknownCommand(cmd *cobra.Command, args []string) error {
	var names []string
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			names = append(names, sub.Name())
		}
	}
	if len(args) == 0 {
		return usagef(cmd, "%s needs a command: %s", cmd.CommandPath(), strings.Join(names, ", "))
	}
	msg := fmt.Sprintf("unknown command %q for %s", args[0], cmd.CommandPath())
	if s := closest(args[0], names); s != "" {
		msg += fmt.Sprintf("; did you mean %s?", s)
	}
	return usagef(cmd, "%s", msg)
}

// usagef is a usage error that ends by pointing at cmd's help.
func usagef(cmd *cobra.Command, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if !strings.HasSuffix(msg, "?") {
		msg += ";"
	}
	return usageError{msg + " see " + cmd.CommandPath() + " --help"}
}

// noArgs refuses positional arguments.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef(cmd, "%s takes no arguments, got %q", cmd.CommandPath(), args)
	}
	return nil
}

// exactArgs wants one argument for each name.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		switch {
		case len(args) < len(names):
			return usagef(cmd, "%s needs %s", cmd.CommandPath(), strings.Join(names[len(args):], " "))
		case len(args) > len(names):
			return usagef(cmd, "%s takes only %s, got %q", cmd.CommandPath(), strings.Join(names, " "), args)
		}
		return nil
	}
}

// flagError turns a flag the command line got wrong into one line, with
// the closest flag for a mistyped one.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	if arg, ok := cmd.Annotations[dashArgAnnotation]; ok && strings.HasPrefix(msg, "unknown shorthand flag") {
		// A key id is base64url and may begin with "-".
		return usagef(cmd, "%s; a %s that begins with - goes after --: %s -- %s", msg, arg, cmd.CommandPath(), arg)
	}
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		msg = "unknown flag --" + name
		if own, ok := cmd.Annotations[replacedAnnotation+name]; ok {
			return usagef(cmd, "%s; %s spells that setting --%s", msg, cmd.CommandPath(), own)
		}
		var names []string
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden {
				names = append(names, f.Name)
			}
		})
		if s := closest(name, names); s != "" {
			msg += fmt.Sprintf("; did you mean --%s?", s)
		}
	}
	return usagef(cmd, "%s", msg)
}

// dashArgAnnotation marks a command whose positional argument may begin
// with "-", naming it, so that a misread flag's error says to put it
// after --.
const dashArgAnnotation = "rolegate-dash-arg"

// closest is the candidate nearest to s, if it is near enough to be what
// was meant: at most two edits away, or one third of its length for long
// names, or s is its prefix.
func closest(s string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := editDistance(s, c)
		if strings.HasPrefix(c, s) && len(s) >= 3 {
			d = min(d, 1)
		}
		if d <= max(2, len(c)/3) && (bestDist < 0 || d < bestDist) {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// writeUsage is every command's help after its description: how to call
// it, its commands, its own flags, then the configuration settings it
// takes, apart.
func writeUsage(cmd *cobra.Command) error {
	w := cmd.OutOrStderr()
	fmt.Fprintf(w, "Usage:\n  %s\n", cmd.UseLine())
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintln(w, "\nCommands:")
		width := 0
		for _, sub := range cmd.Commands() {
			width = max(width, len(sub.Name()))
		}
		for _, sub := range cmd.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(w, "  %-*s  %s\n", width, sub.Name(), sub.Short)
			}
		}
	}
	own := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	settings := pflag.NewFlagSet(cmd.Name(), pflag.ContinueOnError)
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if _, ok := f.Annotations[settingAnnotation]; ok {
			settings.AddFlag(f)
		} else {
			own.AddFlag(f)
		}
	})
	if own.HasAvailableFlags() {
		fmt.Fprintf(w, "\nFlags:\n%s", own.FlagUsages())
	}
	if settings.HasAvailableFlags() {
		fmt.Fprintf(w, "\nGlobal settings (each also a ROLEGATE_* variable and a key of the --config file):\n%s", settings.FlagUsages())
	}
	if cmd.HasAvailableSubCommands() {
		fmt.Fprintf(w, "\nRun \"%s <command> --help\" for a command's flags.\n", cmd.CommandPath())
	}
	return nil
}

// version is set at build time with
// -ldflags "-X main.version=v1.2.3"; without it, the version comes from
// the build information the Go toolchain records.
var version string

// versionString describes this binary: its version, the commit it was
// built from and the Go release that built it.
func versionString() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "rolegate " + or(v, "unknown")
	}
	if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	var details []string
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if rev := settings["vcs.revision"]; rev != "" {
		details = append(details, "commit "+rev[:min(12, len(rev))])
	}
	if t := settings["vcs.time"]; t != "" {
		details = append(details, t)
	}
	if settings["vcs.modified"] == "true" {
		details = append(details, "modified")
	}
	details = append(details, info.GoVersion)
	return fmt.Sprintf("rolegate %s (%s)", or(v, "devel"), strings.Join(details, ", "))
}
