"""The Go text/template subset behind ``topology info --template`` (pure logic)."""

from __future__ import annotations

import pytest

from pyketi.cli.gotemplate import TemplateError, render

TOPOLOGY = {"clusters": [{
    "id": "c1", "file": True, "block": False,
    "volumes": [{"id": "v1", "name": "vol_v1", "size": 2, "cluster": "c1",
                 "durability": {"type": "replicate", "replicate": {"replica": 3}},
                 "snapshot": {"enable": True, "factor": 1.5},
                 "mount": {"glusterfs": {"hosts": ["192.0.2.1"], "device": "192.0.2.1:vol_v1",
                                         "options": {"backup-volfile-servers": "192.0.2.2"}}},
                 "blockinfo": {}, "bricks": []}],
    "nodes": [{"id": "n1", "state": "failed", "cluster": "c1", "zone": 2,
               "hostnames": {"manage": ["h1", "h1b"], "storage": ["192.0.2.1"]},
               "tags": {"rack": "r1", "arbiter": "supported"},
               "devices": [{"id": "d1", "name": "/dev/sdb", "state": "online",
                            "storage": {"total": 3 * 1048576, "free": 1048576,
                                        "used": 2 * 1048576},
                            "bricks": [{"id": "b1", "path": "/p", "size": 1048576,
                                        "node": "n1", "device": "d1", "volume": "v1"}]}]}],
}]}


@pytest.mark.parametrize("template, expected", [
    ("{{range .ClusterList}}{{.Id}} {{.File}} {{.Block}}{{end}}", "c1 true false"),
    # heketi's Go field names map to the JSON keys
    ("{{range .ClusterList}}{{range .Nodes}}{{.ClusterId}} {{join .Hostnames.Manage \", \"}}"
     "{{range .DevicesInfo}} {{.Name}} {{kibToGib .Storage.Total}}GiB"
     "{{range .Bricks}} {{.NodeId}}/{{.DeviceId}}/{{.VolumeId}}{{end}}{{end}}{{end}}{{end}}",
     "c1 h1, h1b /dev/sdb 3GiB n1/d1/v1"),
    # fields the server omits when empty read as zero values
    ("{{range .ClusterList}}{{range .Nodes}}{{range .DevicesInfo}}[{{.Paths}}|{{.PvUUID}}|"
     "{{len .Tags}}]{{end}}{{end}}{{end}}", "[[]||0]"),
    # trimming, comments, printf padding, entryStateString, sorted map ranges
    ("{{- /* c */ -}}\n  {{range .ClusterList -}}\n {{range .Nodes}}"
     "{{printf \"%-4v|\" .Id}}{{.State | entryStateString}}"
     "{{range $k, $v := .Tags}} {{$k}}:{{$v}}{{end}}{{end}}{{end}}",
     "n1  |removed arbiter:supported rack:r1"),
    # if / else if / else, eq, ne, len piped
    ("{{range .ClusterList}}{{range .Volumes}}{{if eq .Durability.Type \"disperse\"}}D"
     "{{else if eq .Durability.Type \"replicate\"}}R{{.Durability.Replicate.Replica}}"
     "{{else}}N{{end}}{{if .Snapshot.Enable}} {{.Snapshot.Factor | printf \"%.2f\"}}{{end}}"
     "{{if len .Bricks | ne 0}} bricks{{else}} none{{end}}{{end}}{{end}}", "R3 1.50 none"),
    ("{{range .ClusterList}}{{range .Volumes}}{{range $k, $v := .Mount.GlusterFS.Options}}"
     "{{$k}}={{$v}}{{end}} {{.Mount.GlusterFS.MountPoint}}{{end}}{{end}}",
     "backup-volfile-servers=192.0.2.2 192.0.2.1:vol_v1"),
    # variables, define/template, with, index, println, parentheses
    ('{{define "N"}}<{{.Id}} z{{.Zone}}>{{end}}{{$c := index .ClusterList 0}}'
     '{{range $c.Nodes}}{{template "N" .}}{{end}} {{with $c.Id}}{{.}}{{end}}'
     '{{with $c.Tags}}x{{else}} -{{end}} {{(len $c.Nodes)}}{{println}}',
     "<n1 z2> c1 - 1\n"),
    ("{{range .ClusterList}}{{else}}empty{{end}}", ""),
])
def test_render(template, expected):
    assert render(template, TOPOLOGY) == expected


def test_range_else_on_nothing():
    assert render("{{range .ClusterList}}x{{else}}no clusters{{end}}", {"clusters": []}) == \
        "no clusters"


@pytest.mark.parametrize("template, message", [
    ("{{range .ClusterList}}", "failed to parse template: unexpected EOF"),
    ("{{end}}", "failed to parse template: unexpected {{end}}"),
    ("{{.Nope}}", "failed to execute template: can't evaluate field Nope"),
    ("{{frobnicate .}}", 'failed to execute template: function "frobnicate" not defined'),
    ('{{template "X"}}', 'failed to execute template: no such template "X"'),
    ("{{$x}}", "failed to execute template: undefined variable: $x"),
    ('{{define "L"}}{{template "L"}}{{end}}{{template "L"}}',
     "failed to execute template: exceeded maximum template depth"),
])
def test_errors_are_reported_not_raised_as_tracebacks(template, message):
    with pytest.raises(TemplateError) as err:
        render(template, TOPOLOGY)
    assert str(err.value).startswith(message)
