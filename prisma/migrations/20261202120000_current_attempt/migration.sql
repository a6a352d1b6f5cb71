-- The order names its current attempt (issue 13: Prepay in fewer round trips). The claim that inserts a newer
-- attempt sets it in the same compare-and-set of the order's version; opening an attempt is then one UPDATE that
-- joins the order and requires the attempt still to be current (the join reads the order row with a shared lock,
-- so it waits for a claim in flight and then sees it), where it took a transaction of five statements.
-- Orders from before this column get their newest attempt, which is what "current" meant until now.

-- AlterTable
ALTER TABLE `pay_order` ADD COLUMN `current_attempt_no` VARCHAR(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL;

UPDATE `pay_order` o
   SET o.`current_attempt_no` = (SELECT a.`attempt_no` FROM `pay_attempt` a WHERE a.`pay_no` = o.`pay_no` ORDER BY a.`id` DESC LIMIT 1)
 WHERE EXISTS (SELECT 1 FROM `pay_attempt` a WHERE a.`pay_no` = o.`pay_no`);
