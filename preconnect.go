package main

// virtsh_main_program tells shell/earlyinit.c that this process is the virtsh
// program: only then does it open a one-shot command's connection while Go
// starts (see there). The man-page generator and the test binaries link the
// same C code, and their command lines mean something else.

/*
int virtsh_main_program = 1;
*/
import "C"
