# Place a new round of reviewed draft files into the frozen train/test
# folders without moving any earlier sample (used for rounds 2, 3 and 4).
# Samples sharing any 14-char run (ignoring digits, spaces, punctuation) form
# one group. A group touching a earlier train sample goes to train, one
# touching a earlier test sample to test (touching both is an error: reword);
# other groups go to test when the SHA-256 of their smallest id is 0 mod 5.
# Usage: python3 split_new_round.py DRAFTS_DIR models/corpus
# (each DRAFTS_DIR/<prefix>.jsonl lands in train/<prefix>.jsonl and test/<prefix>.jsonl)
import json, hashlib, glob, os, re, collections, sys
K = 14
DRAFTS = sys.argv[1]            # folder with the reviewed drafts *.jsonl
ROOT = sys.argv[2]              # models/corpus
def sh(t):
    t = re.sub(r'[\s０-９0-9，。；、：“”‘’（）()《》,.;:%!?！？·—-]', '', t)
    return {t[i:i+K] for i in range(max(1, len(t)-K+1))}
old = {}
for side in ('train', 'test'):
    for f in glob.glob(f'{ROOT}/{side}/*.jsonl'):
        for line in open(f, encoding='utf-8'):
            if line.strip():
                for g in sh(json.loads(line)['text']):
                    old.setdefault(g, set()).add(side)
rows = []
for f in sorted(glob.glob(f'{DRAFTS}/*.jsonl')):
    for line in open(f, encoding='utf-8'):
        if line.strip():
            rows.append((os.path.basename(f), json.loads(line)))
parent = list(range(len(rows)))
def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]; x = parent[x]
    return x
idx = collections.defaultdict(list)
for i, (_, o) in enumerate(rows):
    for g in sh(o['text']): idx[g].append(i)
for l in idx.values():
    for j in l[1:]:
        a, b = find(j), find(l[0])
        if a != b: parent[a] = b
comps = collections.defaultdict(list)
for i in range(len(rows)): comps[find(i)].append(i)
side_of = {}
for members in comps.values():
    touch = set()
    for i in members:
        for g in sh(rows[i][1]['text']):
            touch |= old.get(g, set())
    if touch == {'train', 'test'}:
        # Near-duplicates of both a train and a test sample: left out, so
        # that nothing straddles the frozen split.
        print('dropped (touches both splits):', [rows[i][1]['id'] for i in members])
        for i in members:
            side_of[i] = None
        continue
    if touch:
        side = touch.pop()
    else:
        key = min(rows[i][1]['id'] for i in members)
        side = 'test' if int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 5 == 0 else 'train'
    for i in members:
        side_of[i] = side
out = collections.defaultdict(list)
for i, (f, o) in enumerate(rows):
    if side_of[i] is not None:
        out[(side_of[i], f)].append(o)
for (side, f), objs in sorted(out.items()):
    with open(f'{ROOT}/{side}/{f}', 'w', encoding='utf-8') as w:
        for o in objs:
            w.write(json.dumps(o, ensure_ascii=False) + '\n')
    print(side, f, len(objs))
