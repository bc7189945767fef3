/* replay.c - runs a libFuzzer target's corpus without libFuzzer, so that the
 * corpus is an ordinary test under any compiler (and under ASan in make check).
 * Usage: replay-<target> FILE_OR_DIR... ; exit 0 when every input ran. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
        FILE *f = fopen(path, "rbe");
        uint8_t *buf;
        long len;

        if (!f) {
                perror(path);
                return -1;
        }
        if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
                fclose(f);
                return -1;
        }
        buf = malloc((size_t)len + 1);
        if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
                free(buf);
                fclose(f);
                return -1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)len);
        free(buf);
        return 0;
}

int main(int argc, char **argv)
{
        unsigned n = 0;

        for (int i = 1; i < argc; i++) {
                struct stat st;
                if (stat(argv[i], &st) < 0) {
                        perror(argv[i]);
                        return 1;
                }
                if (S_ISDIR(st.st_mode)) {
                        struct dirent **list;
                        int k = scandir(argv[i], &list, NULL, alphasort);
                        if (k < 0) {
                                perror(argv[i]);
                                return 1;
                        }
                        for (int j = 0; j < k; j++) {
                                char path[4096];
                                if (list[j]->d_name[0] != '.') {
                                        snprintf(path, sizeof(path), "%s/%s", argv[i],
                                                 list[j]->d_name);
                                        if (run_file(path) < 0)
                                                return 1;
                                        n++;
                                }
                                free(list[j]);
                        }
                        free(list);
                } else {
                        if (run_file(argv[i]) < 0)
                                return 1;
                        n++;
                }
        }
        printf("replayed %u inputs\n", n);
        return n > 0 ? 0 : 1;
}
