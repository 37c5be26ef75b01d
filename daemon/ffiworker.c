/* placeholder: owned by the FFI worker helper */
int ffiworker_main(int fd);
int ffiworker_main(int fd) { (void)fd; return 1; }
