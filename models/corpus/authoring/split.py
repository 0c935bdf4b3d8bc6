# One-off: split the reviewed drafts into the frozen train/test folders.
# Samples that share any 14-char run (ignoring digits, spaces, punctuation)
# are one component and go to the same side. Files in TRAIN_ONLY (templated
# text) go to train entirely.
import json, hashlib, glob, os, re, collections, sys
TRAIN_ONLY = {'multi.jsonl'}
K = 14
files = sorted(glob.glob('drafts/*.jsonl (the reviewed files, before the split)'))
rows = []
for f in files:
    for line in open(f, encoding='utf-8'):
        if line.strip():
            rows.append((os.path.basename(f), json.loads(line)))
def sh(t):
    t = re.sub(r'[\s０-９0-9，。；、：“”‘’（）()《》,.;:%!?！？·—-]', '', t)
    return {t[i:i+K] for i in range(max(1, len(t)-K+1))}
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
test = set()
for members in comps.values():
    if any(rows[i][0] in TRAIN_ONLY for i in members):
        continue
    key = min(rows[i][1]['id'] for i in members)
    if int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % 5 == 0:
        test.update(members)
for d in ('train', 'test'):
    os.makedirs(f'/work/main/models/corpus/{d}', exist_ok=True)
    for old in glob.glob(f'/work/main/models/corpus/{d}/*.jsonl'): os.remove(old)
out = collections.defaultdict(list)
for i, (name, o) in enumerate(rows):
    out[('test' if i in test else 'train', name)].append(json.dumps(o, ensure_ascii=False))
for (d, name), lines in sorted(out.items()):
    open(f'/work/main/models/corpus/{d}/{name}', 'w', encoding='utf-8').write('\n'.join(lines) + '\n')
    print(d, name, len(lines))
print('components', len(comps), 'largest', max(len(m) for m in comps.values()))
