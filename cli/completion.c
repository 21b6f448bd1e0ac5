/* completion.c - `ecluse completion bash`, from the command table. */
#include "cli/completion.h"

#include <string.h>

/* The word after `prefix` (a run of whole words, "" for none) in
 * `words`, if words extends prefix by at least one word: its start and
 * length, else length 0. */
static size_t next_word(const char *words, const char *prefix, const char **start)
{
    size_t n = strlen(prefix);
    if (n > 0 && (strncmp(words, prefix, n) != 0 || words[n] != ' '))
        return 0;
    *start = words + n + (n > 0);
    return strcspn(*start, " ");
}

/* 1 if the word [w, w+len) is already in the list printed for this prefix
 * by an earlier command. */
static int seen_before(const cli_command *const *commands, size_t i, const char *prefix,
                       const char *w, size_t len)
{
    for (size_t k = 0; k < i; k++) {
        const char *other = NULL;
        size_t n = next_word(commands[k]->words, prefix, &other);
        if (n == len && strncmp(other, w, len) == 0)
            return 1;
    }
    return 0;
}

/* The words that may follow `prefix`: each command's next word, once. */
static void print_next_words(FILE *out, const cli_command *const *commands, size_t count,
                             const char *prefix)
{
    const char *sep = "";
    for (size_t i = 0; i < count; i++) {
        const char *w = NULL;
        size_t len = next_word(commands[i]->words, prefix, &w);
        if (len == 0 || seen_before(commands, i, prefix, w, len))
            continue;
        fprintf(out, "%s%.*s", sep, (int)len, w);
        sep = " ";
    }
}

/* The options a command's help names (each --word once), and --help. */
static void print_options(FILE *out, const cli_command *cmd)
{
    fputs("--help", out);
    const char *help = cmd->help;
    for (const char *p = strstr(help, "--"); p != NULL; p = strstr(p + 2, "--")) {
        if (p > help && p[-1] != ' ' && p[-1] != '[' && p[-1] != '(' && p[-1] != '|')
            continue; /* inside a word */
        size_t len = 2;
        while ((p[len] >= 'a' && p[len] <= 'z') || (p[len] >= '0' && p[len] <= '9') ||
               (p[len] == '-' && p[len + 1] != '-' && len > 2))
            len++;
        if (len == 2 || p[len - 1] == '-')
            continue;
        int dup = len == 6 && strncmp(p, "--help", 6) == 0;
        for (const char *q = strstr(help, "--"); !dup && q != NULL && q < p;
             q = strstr(q + 2, "--"))
            dup = strncmp(q, p, len) == 0 && !((q[len] >= 'a' && q[len] <= 'z') ||
                                               (q[len] >= '0' && q[len] <= '9') || q[len] == '-');
        if (!dup)
            fprintf(out, " %.*s", (int)len, p);
    }
}

/* Every run of whole leading words of some command that is not itself a
 * command: "", "dataset", "audit", "audit receipt", ... Calls `each` once
 * per prefix, in the table's order. */
static void each_prefix(FILE *out, const cli_command *const *commands, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const char *words = commands[i]->words;
        for (size_t end = 0;; end++) {
            if (words[end] != ' ' && words[end] != '\0')
                continue;
            if (words[end] == '\0')
                break;
            /* words[0, end) is a prefix: once, at its first command */
            int earlier = 0;
            for (size_t k = 0; k < i && !earlier; k++)
                earlier =
                    strncmp(commands[k]->words, words, end) == 0 && commands[k]->words[end] == ' ';
            if (!earlier) {
                char prefix[64];
                snprintf(prefix, sizeof(prefix), "%.*s", (int)end, words);
                fprintf(out, "        \"%s\") words=\"", prefix);
                print_next_words(out, commands, count, prefix);
                fputs("\" ;;\n", out);
            }
        }
    }
}

int cli_completion(FILE *out, const char *shell, const cli_command *const *commands, size_t count)
{
    if (shell == NULL || strcmp(shell, "bash") != 0)
        return -1;
    fputs("# bash completion for ecluse, printed by `ecluse completion bash` from the\n"
          "# table that prints `ecluse --help`. Load it with\n"
          "#   source <(ecluse completion bash)\n"
          "# or save it as /usr/share/bash-completion/completions/ecluse.\n"
          "_ecluse() {\n"
          "    local cur=\"${COMP_WORDS[COMP_CWORD]}\" prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
          "    local path=\"\" i=1 w words=\"\"\n"
          "    if [[ \"$prev\" == --log-format ]]; then\n"
          "        COMPREPLY=($(compgen -W \"json logfmt\" -- \"$cur\")) || true\n"
          "        return 0\n"
          "    fi\n"
          "    # The command typed so far: the words before the cursor, after the\n"
          "    # global options.\n"
          "    while ((i < COMP_CWORD)); do\n"
          "        w=\"${COMP_WORDS[i]}\"\n"
          "        if [[ -z \"$path\" && \"$w\" == --log-format ]]; then\n"
          "            i=$((i + 2))\n"
          "            continue\n"
          "        fi\n"
          "        [[ -z \"$path\" && \"$w\" == --log-format=* ]] && { i=$((i + 1)); continue; }\n"
          "        path=\"${path:+$path }$w\"\n"
          "        i=$((i + 1))\n"
          "    done\n"
          "    case \"$path\" in\n"
          "        \"\") words=\"",
          out);
    print_next_words(out, commands, count, "");
    fputs(" help completion --log-format --version --help\" ;;\n"
          "        help | \"help \"*) words=\"--man\"\n"
          "            [[ \"$path\" == help ]] && words=\"",
          out);
    print_next_words(out, commands, count, "");
    fputs(" --man\" ;;\n"
          "        completion) words=\"bash\" ;;\n",
          out);
    each_prefix(out, commands, count);
    for (size_t i = 0; i < count; i++) {
        fprintf(out, "        \"%s\" | \"%s \"*)\n            [[ \"$cur\" == -* ]] && words=\"",
                commands[i]->words, commands[i]->words);
        print_options(out, commands[i]);
        fputs("\" ;;\n", out);
    }
    fputs("    esac\n"
          "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\")) || true # none is no error\n"
          "}\n"
          "complete -o default -F _ecluse ecluse\n",
          out);
    return 0;
}
