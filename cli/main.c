/* pgdrill: entry point; dispatches to the sub-commands. */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("pgdrill %s\n", PD_VERSION);
        return 0;
    }
    fprintf(stderr, "pgdrill: not implemented yet\n");
    return 2;
}
