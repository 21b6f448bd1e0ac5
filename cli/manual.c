/* manual.c - ecluse(1) and ecluse-GROUP(1), from the command table. */
#include "cli/manual.h"

#include <string.h>

#include "common/version.h"

/* Command and option names are typed as they are shown: never hyphenated,
 * lines left-aligned. */
#define NO_HYPHENATION ".nh\n.ad l\n"

/* The length of a command's first word: its group. */
static size_t group_len(const cli_command *cmd)
{
    return strcspn(cmd->words, " ");
}

static int in_group(const cli_command *cmd, const char *group)
{
    size_t n = group_len(cmd);
    return strlen(group) == n && strncmp(cmd->words, group, n) == 0;
}

/* 1 if no command before index i has the same group (its first). */
static int first_of_group(const cli_command *const *commands, size_t i)
{
    for (size_t k = 0; k < i; k++)
        if (group_len(commands[k]) == group_len(commands[i]) &&
            strncmp(commands[k]->words, commands[i]->words, group_len(commands[i])) == 0)
            return 0;
    return 1;
}

/* Text roff must not read as requests or escapes: a leading '.' or '\'',
 * and every backslash; a '-' as \- so that it stays an ASCII hyphen-minus
 * (options are typed as they are shown). */
static void roff_escape(FILE *out, const char *text, size_t len)
{
    int line_start = 1;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (line_start && (c == '.' || c == '\''))
            fputs("\\&", out);
        if (c == '\\')
            fputs("\\e", out);
        else if (c == '-')
            fputs("\\-", out);
        else
            fputc(c, out);
        line_start = c == '\n';
    }
}

/* A help text as it is: no filling, no adjusting, its own line breaks. */
static void roff_verbatim(FILE *out, const char *text)
{
    fputs(".nf\n", out);
    roff_escape(out, text, strlen(text));
    if (text[0] != '\0' && text[strlen(text) - 1] != '\n')
        fputc('\n', out);
    fputs(".fi\n", out);
}

static void roff_line(FILE *out, const char *text)
{
    roff_escape(out, text, strlen(text));
    fputc('\n', out);
}

static void exit_status(FILE *out)
{
    static const char *const codes[] = {
        "0",  "success",
        "1",  "internal error",
        "2",  "usage: a wrong command, option or argument",
        "3",  "bad input",
        "4",  "a file or I/O error",
        "5",  "not found",
        "6",  "already exists",
        "7",  "authentication or permission",
        "8",  "unavailable: the gateway, a peer or the audit trail",
        "9",  "refused by policy or a precondition",
        "10", "a signature or digest does not verify",
        "11", "a limit was reached",
        "12", "the gateway does not serve what was asked",
    };
    fputs(".SH EXIT STATUS\n", out);
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i += 2)
        fprintf(out, ".TP\n.B %s\n%s\n", codes[i], codes[i + 1]);
}

void cli_man_main(FILE *out, const cli_command *const *commands, size_t count)
{
    fprintf(out, ".TH ECLUSE 1 \"\" \"ecluse %s\" \"ecluse manual\"\n", ECLUSE_VERSION);
    fputs(NO_HYPHENATION, out);
    fputs(".SH NAME\necluse \\- a federated data\\-access gateway for AI factories\n", out);
    fputs(".SH SYNOPSIS\n.B ecluse\n[\\fB\\-\\-log\\-format\\fR \\fIjson\\fR|\\fIlogfmt\\fR]\n"
          ".I command\n[\\fIoptions\\fR]\n.br\n.B ecluse \\-\\-version\n.br\n"
          ".B ecluse help\n[\\fIcommand\\fR | \\fB\\-\\-man\\fR [\\fIgroup\\fR]]\n.br\n"
          ".B ecluse completion bash\n",
          out);
    fputs(".SH DESCRIPTION\nEach national site runs one ecluse gateway. Gateways peer over mutual "
          "TLS, exchange signed catalogs, enforce GDPR access policies on every request, write "
          "every decision and read to a tamper\\-evident audit trail, and stream tensors to "
          "training jobs at other sites.\n.PP\nEvery command takes \\fB\\-\\-help\\fR; each group "
          "of commands has its own page, listed below.\n",
          out);
    fputs(".SH GLOBAL OPTIONS\n.TP\n.BI \\-\\-log\\-format \" json\\fR|\\fIlogfmt\"\n"
          "the form of the log lines on stderr: one JSON object per line, or key=value "
          "(the default); before the command.\n"
          ".TP\n.B \\-\\-version\nthe release, the commit and date of the build, and the "
          "versions of the libraries in use.\n"
          ".TP\n.B \\-\\-help\nthe list of commands.\n",
          out);
    fputs(".SH COMMANDS\n", out);
    for (size_t i = 0; i < count; i++) {
        if (!first_of_group(commands, i))
            continue;
        int n = (int)group_len(commands[i]);
        fprintf(out, ".TP\n.BR ecluse\\-%.*s (1)\n", n, commands[i]->words);
        for (size_t k = i; k < count; k++) {
            if (group_len(commands[k]) != (size_t)n ||
                strncmp(commands[k]->words, commands[i]->words, (size_t)n) != 0)
                continue;
            fputs(k == i ? "" : ".br\n", out);
            fprintf(out, "\\fBecluse %s\\fR: ", commands[k]->words);
            roff_line(out, commands[k]->summary);
        }
    }
    fputs(".TP\n.B ecluse completion bash\nbash completion of commands and options, "
          "generated from the same table: "
          "\\fBsource <(ecluse completion bash)\\fR.\n",
          out);
    exit_status(out);
    fputs(".SH ENVIRONMENT\n.TP\n.B ECLUSE_IDENTITY\nthe identity directory client commands "
          "use when \\-\\-identity is not given.\n.TP\n.B ECLUSE_LOG\ndebug, info, warn or error: "
          "the lowest level logged.\n.TP\n.B ECLUSE_LOG_FORMAT\njson or logfmt, when "
          "\\-\\-log\\-format is not given.\n.TP\n.B JOURNAL_STREAM\nset by systemd: when it "
          "names stderr, each log line starts with its syslog priority (<6> info, <4> warn, "
          "<3> error) for journald.\n.TP\n.B NOTIFY_SOCKET\nset by systemd for Type=notify: "
          "the gateway sends READY=1, RELOADING=1 and STOPPING=1 there.\n",
          out);
    fputs(".SH SEE ALSO\n", out);
    for (size_t i = 0; i < count; i++)
        if (first_of_group(commands, i))
            fprintf(out, ".BR ecluse\\-%.*s (1),\n", (int)group_len(commands[i]),
                    commands[i]->words);
    fputs("and the documents in docs/ of the ecluse source: design, protocol, operations, "
          "policy, catalog signing, audit format, storage, streaming.\n",
          out);
}

/* The NAME line's text: a lone command's summary, or the group's commands
 * ("ecluse dataset add, list, show, remove"). */
static void name_line(FILE *out, const cli_command *const *commands, size_t count, size_t first,
                      const char *group)
{
    size_t members = 0;
    for (size_t i = first; i < count; i++)
        members += in_group(commands[i], group);
    if (members == 1 && strcmp(commands[first]->words, group) == 0) {
        roff_line(out, commands[first]->summary);
        return;
    }
    fputs("ecluse ", out);
    roff_escape(out, group, strlen(group));
    const char *sep = " ";
    for (size_t i = first; i < count; i++) {
        if (!in_group(commands[i], group))
            continue;
        const char *rest = commands[i]->words + strlen(group);
        rest += *rest == ' ';
        fputs(sep, out);
        roff_escape(out, rest, strlen(rest));
        sep = ", ";
    }
    fputc('\n', out);
}

int cli_man_group(FILE *out, const cli_command *const *commands, size_t count, const char *group)
{
    size_t first = count;
    for (size_t i = 0; i < count && first == count; i++)
        if (in_group(commands[i], group))
            first = i;
    if (first == count)
        return -1;
    char upper[32];
    size_t n = 0;
    for (; group[n] != '\0' && n + 1 < sizeof(upper); n++)
        upper[n] = (char)(group[n] >= 'a' && group[n] <= 'z' ? group[n] - 'a' + 'A' : group[n]);
    upper[n] = '\0';
    fputs(".TH ECLUSE\\-", out);
    roff_escape(out, upper, n);
    fprintf(out, " 1 \"\" \"ecluse %s\" \"ecluse manual\"\n", ECLUSE_VERSION);
    fputs(NO_HYPHENATION, out);
    fputs(".SH NAME\necluse\\-", out);
    roff_escape(out, group, strlen(group));
    fputs(" \\- ", out);
    name_line(out, commands, count, first, group);
    fputs(".SH SYNOPSIS\n", out);
    for (size_t i = first; i < count; i++)
        if (in_group(commands[i], group)) {
            fputs(".B ecluse ", out);
            roff_line(out, commands[i]->words);
            fputs("[\\fIoptions\\fR]\n.br\n", out);
        }
    fputs(".SH DESCRIPTION\nEach command below with its help, as \\fBecluse\\fR \\fIcommand\\fR "
          "\\fB\\-\\-help\\fR prints it.\n",
          out);
    for (size_t i = first; i < count; i++) {
        if (!in_group(commands[i], group))
            continue;
        fputs(".SS ecluse ", out);
        roff_line(out, commands[i]->words);
        roff_line(out, commands[i]->summary);
        fputs(".PP\n", out);
        roff_verbatim(out, commands[i]->help);
    }
    exit_status(out);
    fputs(".SH SEE ALSO\n.BR ecluse (1)\n", out);
    return 0;
}
