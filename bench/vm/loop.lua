-- 30 million iterations of integer arithmetic
local acc = 0
local i = 0
while i < 30000000 do
    acc = (acc + i * 3) % 1000003
    i = i + 1
end
print(acc)
