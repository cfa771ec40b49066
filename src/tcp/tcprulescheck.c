/* SPDX-License-Identifier: ISC */
/* placeholder until the program is written */
int main(void);
int
main(void)
{
    return 111;
}
