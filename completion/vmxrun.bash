# SPDX-License-Identifier: LGPL-2.1-or-later
# bash completion for vmxrun(8): commands and their options (read from
# `vmxrun --help` and `vmxrun COMMAND --help`, so they never drift), profile
# files, names of running deployments (the runtime directory) and of
# profiles in /etc/vmxrun, and VM names (the deployment's state.json).

_vmxrun_runtime_dir()
{
        local i
        for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
                if [[ ${COMP_WORDS[i]} == --runtime-dir ]]; then
                        printf '%s\n' "${COMP_WORDS[i + 1]}"
                        return
                fi
        done
        printf '%s\n' "${VMXRUN_RUNTIME_DIR:-/run/vmxrun}"
}

_vmxrun_deployments()
{
        local d rt
        rt=$(_vmxrun_runtime_dir)
        for d in "$rt"/*/; do
                [[ -d $d ]] || continue
                d=${d%/}
                printf '%s\n' "${d##*/}"
        done
}

_vmxrun_profiles_in_config()
{
        local f
        for f in "${VMXRUN_CONFIG_DIR:-/etc/vmxrun}"/*.yaml "${VMXRUN_CONFIG_DIR:-/etc/vmxrun}"/*.conf; do
                [[ -f $f ]] || continue
                f=${f##*/}
                printf '%s\n' "${f%.*}"
        done
}

# The VMs of deployment $1, from its state.json (each VM object's "name").
_vmxrun_vms()
{
        local state
        state="$(_vmxrun_runtime_dir)/$1/state.json"
        [[ -r $state ]] || return
        grep -o '"name": *"[^"]*"' "$state" | sed 's/.*: *"\(.*\)"/\1/'
}

_vmxrun_commands()
{
        "${COMP_WORDS[0]}" --help 2>/dev/null |
                awk '/^Commands:/ { f = 1; next } /^$/ { f = 0 } f { print $1 }'
}

_vmxrun_options()
{
        "${COMP_WORDS[0]}" "$1" --help 2>/dev/null | grep -oE -- '(^|[ [|,])--?[a-zA-Z][a-zA-Z-]*' |
                sed 's/^[ [|,]//' | sort -u
}

_vmxrun()
{
        local cur prev cmd="" target="" i n=0
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}

        # The command is the first word that is not a global option; the
        # target the first non-option word after it.
        for ((i = 1; i < COMP_CWORD; i++)); do
                case ${COMP_WORDS[i]} in
                --runtime-dir | --vm | --accel | --root | --qemu | --timeout | -t | --junosdev | -o | --output | \
                        --name | --first-cpu | --argv | --pid | --running | --hugepages)
                        ((i++))
                        ;;
                -*) ;;
                *)
                        if [[ -z $cmd ]]; then
                                cmd=${COMP_WORDS[i]}
                        else
                                ((n++ == 0)) && target=${COMP_WORDS[i]}
                        fi
                        ;;
                esac
        done

        case $prev in
        --runtime-dir | --root)
                COMPREPLY=($(compgen -d -- "$cur"))
                return
                ;;
        --accel)
                COMPREPLY=($(compgen -W 'kvm tcg' -- "$cur"))
                return
                ;;
        --vm)
                COMPREPLY=($(compgen -W "$(_vmxrun_vms "${target%.y*ml}")" -- "$cur"))
                return
                ;;
        --qemu | --junosdev | -o | --output | --running)
                COMPREPLY=($(compgen -f -- "$cur"))
                return
                ;;
        --hugepages)
                COMPREPLY=($(compgen -W '2M 1G' -- "$cur"))
                return
                ;;
        --timeout | -t | --name | --first-cpu | --argv | --pid)
                return
                ;;
        esac

        if [[ -z $cmd ]]; then
                if [[ $cur == -* ]]; then
                        COMPREPLY=($(compgen -W '-v --verbose -h --help --version' -- "$cur"))
                else
                        COMPREPLY=($(compgen -W "$(_vmxrun_commands)" -- "$cur"))
                fi
                return
        fi
        if [[ $cur == -* ]]; then
                COMPREPLY=($(compgen -W "$(_vmxrun_options "$cmd")" -- "$cur"))
                return
        fi

        case $cmd in
        help)
                ((n == 0)) && COMPREPLY=($(compgen -W "$(_vmxrun_commands)" -- "$cur"))
                ;;
        validate | cmdline | explain | import)
                COMPREPLY=($(compgen -f -X '!*.@(yaml|yml|conf)' -- "$cur") $(compgen -d -- "$cur"))
                ;;
        start | enable | disable | doctor)
                ((n == 0)) && COMPREPLY=($(compgen -W "$(_vmxrun_profiles_in_config)" -- "$cur")
                        $(compgen -f -X '!*.@(yaml|yml|conf)' -- "$cur") $(compgen -d -- "$cur"))
                ;;
        stop | restart | pin | status | vcpuinfo | qmp | hmp | console | showcmd | bind | unbind | metrics)
                ((n == 0)) && COMPREPLY=($(compgen -W "$(_vmxrun_deployments)" -- "$cur"))
                ;;
        esac
} && complete -F _vmxrun vmxrun
